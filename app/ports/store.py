"""The event store and the views: where the log and its projections live."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID


@dataclass(frozen=True)


class LoggedEvent:
    """One event as it stands in the append-only log."""

    position: int
    timestamp: datetime
    aggregate_type: str
    aggregate_id: UUID
    version: int
    event_type: str
    payload: dict[str, Any]


class EventStore(Protocol):
    def get(self, aggregate_id: UUID) -> Any | None:
        """The aggregate rebuilt from its events, or None if it was never recorded."""

    def read(self, aggregate_id: UUID) -> Any | None:
        """Like ``get``, as fresh, but shared, not copied: only to look at, never to change."""

    def read_graph(self, roots: Iterable[UUID], follow: Callable[[Any], Iterable[UUID]]) -> dict[UUID, Any]:
        """Like ``read`` for ``roots`` and every aggregate ``follow`` reaches from them, in as
        few round trips as this process's cache allows; ids never recorded are left out."""

    def save(self, *aggregates: Any) -> None:
        """Record the aggregates' pending events in one transaction, or none of them."""

    def collect_new_events(self) -> list[Any]:
        """The events saved since the last call, for the bus to dispatch."""

    def discard_new_events(self) -> None: ...

    def read_log(self, start: int = 1, limit: int = 1000, event_types: Sequence[str] = ()) -> list[LoggedEvent]:
        """Events from ``start`` (inclusive) in log order, optionally only of some types."""

    def iter_log(self, start: int = 1, event_types: Sequence[str] = ()) -> Iterator[LoggedEvent]: ...

    def max_position(self) -> int: ...

    def last_recorded_position(self) -> int:
        """The log position of the last event this store saved (0 before its first save)."""

    def close(self) -> None: ...


class ViewsConflict(Exception):
    """The views stand where a guarded save may not move them from (``position``)."""

    def __init__(self, position: int) -> None:
        self.position = position
        super().__init__(f"the views stand at log position {position}")


class Views(Protocol):
    """Where the topology read model is kept, with the log position it is caught up to."""

    def load(self) -> Any:
        """The ``Topology`` as saved, with its position."""

    def save(self, topology: Any, since: int = 0) -> None:
        """Write the changed rows and the new position in one transaction, only while the views
        stand at ``since`` or later and before the topology's position; ``ViewsConflict`` if not."""

    def replace(self, topology: Any) -> None:
        """Every row and the position in place of the views' own, in one transaction (``audit replay``)."""

    def dump(self) -> dict[str, dict[str, Any]]:
        """Every row of every table, for comparing two builds of the views."""

    def close(self) -> None: ...


class StoreFiles(Protocol):
    """The event store's database as a whole, for ``ai-how store backup|restore|check``. A copy
    is always an SQLite events file, whatever the backend: a backup restores into either."""

    backend: str  # "sqlite" or "postgres"

    def copy_to(self, target: Path) -> int:
        """A consistent copy of every event into the SQLite file ``target`` (new), while other
        processes may write; returns how many events it holds."""

    def load_from(self, source: Path) -> int:
        """Every event of the SQLite events file ``source``, in order, into this store, which
        must hold none; returns how many."""

    def event_count(self) -> int: ...

    def move_aside(self) -> str:
        """Move this store's files (and its views) into a new folder beside them, leaving it
        empty; where they went. ``BackupRefused`` where the backend cannot (a database server)."""

    def integrity(self) -> list[str]:
        """What the backend's own check finds wrong; none: sound."""
