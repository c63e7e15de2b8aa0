"""The application's view of the outside world. Adapters implement these Protocols."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
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

    def save(self, *aggregates: Any) -> None:
        """Record the aggregates' pending events in one transaction, or none of them."""

    def collect_new_events(self) -> list[Any]:
        """The events saved since the last call, for the bus to dispatch."""

    def discard_new_events(self) -> None: ...

    def read_log(self, start: int = 1, limit: int = 1000, event_types: Sequence[str] = ()) -> list[LoggedEvent]:
        """Events from ``start`` (inclusive) in log order, optionally only of some types."""

    def iter_log(self, start: int = 1, event_types: Sequence[str] = ()) -> Iterator[LoggedEvent]: ...

    def max_position(self) -> int: ...

    def close(self) -> None: ...
