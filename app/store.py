"""The event store: an eventsourcing ``Application`` behind the ``EventStore`` port.

Which database it writes to is decided by the settings an adapter hands in (see
``ai_how.adapters.event_store``); this module only knows the library's API.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, PersistenceError, RecordConflictError, StoredEvent
from eventsourcing.utils import get_topic

from ai_how.domain.cluster import Cluster
from ai_how.domain.cpus import HostCpus
from ai_how.domain.gpu import Gpu
from ai_how.domain.gpu_move import GpuMove
from ai_how.domain.image import Image
from ai_how.domain.inference import InferenceService
from ai_how.domain.model import Model
from ai_how.domain.vm import Vm

from .errors import StoreUnavailable
from .ports import EventStore, LoggedEvent

AGGREGATES = (Gpu, Vm, Cluster, Image, InferenceService, GpuMove, Model, HostCpus)
SNAPSHOT_INTERVAL = 100
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


class AiHowApplication(Application):
    name = "AiHow"
    snapshotting_intervals = {cls: SNAPSHOT_INTERVAL for cls in AGGREGATES}
    # Aggregates stay cached in the process; a load reads only the events recorded since
    # ("fast-forward"), so another process's writes are still seen.
    env = {"AGGREGATE_CACHE_MAXSIZE": "1000", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def take_snapshot(self, *args: Any, **kwargs: Any) -> None:
        # Two processes can reach the same snapshot version only by saving the same events,
        # so a conflict here means the identical snapshot is already stored.
        with contextlib.suppress(IntegrityError):
            super().take_snapshot(*args, **kwargs)


def _reachable(roots: list[UUID], follow: Callable[[Any], Iterable[UUID]],
               lookup: Callable[[UUID], Any | None]) -> list[UUID]:
    """``roots`` and what ``follow`` reaches from them, through the aggregates ``lookup`` knows."""
    seen: list[UUID] = []
    todo = list(roots)
    while todo:
        aggregate_id = todo.pop(0)
        if aggregate_id in seen:
            continue
        seen.append(aggregate_id)
        aggregate = lookup(aggregate_id)
        if aggregate is not None:
            todo.extend(follow(aggregate))
    return seen


def event_topics(*names: str) -> list[str]:
    """Stored topics of the named event classes, e.g. ``GpuRegistered``."""
    topics = []
    for cls in AGGREGATES:
        for name in names:
            event_class = getattr(cls, name, None)
            if event_class is not None:
                topics.append(get_topic(event_class))
    return topics


EventsAfter = Callable[[Mapping[UUID, int]], list[StoredEvent]]


class EventSourcedStore(EventStore):
    """``events_after`` is the adapter's query for several aggregates' newer events at once."""

    def __init__(self, app: Application, events_after: EventsAfter | None = None) -> None:
        self.app = app
        self._events_after = events_after
        self._new_events: list[Any] = []
        self._last_position = 0
        # Cached aggregates are brought up to date in place, by the repository or by
        # read_graph: one at a time, whichever thread asks.
        self._cache_lock = threading.RLock()

    def get(self, aggregate_id: UUID) -> Any | None:
        return self._get(aggregate_id, copy=True)

    def read(self, aggregate_id: UUID) -> Any | None:
        return self._get(aggregate_id, copy=False)

    def _get(self, aggregate_id: UUID, copy: bool) -> Any | None:
        try:
            with self._cache_lock:
                return self.app.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            return None
        except PersistenceError as exc:
            raise StoreUnavailable(f"cannot read the event store: {exc}") from exc

    def read_graph(self, roots: Iterable[UUID], follow: Callable[[Any], Iterable[UUID]]) -> dict[UUID, Any]:
        """``roots`` and every aggregate reachable from them by ``follow``, each as fresh as
        ``read`` gives it and, like it, shared: only to look at. Ids never recorded are left out.

        The cached copies say what to expect, and everything expected is brought up to date in
        one round trip; only a reference that was not expected (a card with a new holder)
        costs another.
        """
        roots = list(roots)
        fresh: dict[UUID, Any] = {}
        with self._cache_lock:
            wanted = _reachable(roots, follow, self._cached)
            while missing := [i for i in wanted if i not in fresh]:
                fresh.update(self._bring_up_to_date(missing))
                wanted = _reachable(roots, follow, fresh.get)
            return {i: fresh[i] for i in wanted if fresh[i] is not None}

    def _cached(self, aggregate_id: UUID) -> Any | None:
        try:
            return self.app.repository.cache.get(aggregate_id)
        except (KeyError, AttributeError):
            return None

    def _bring_up_to_date(self, ids: list[UUID]) -> dict[UUID, Any]:
        """The aggregates, fresh: the cached ones from one query, the others rebuilt one by one."""
        cached = {i: a for i in ids if (a := self._cached(i)) is not None}
        found: dict[UUID, Any] = {i: self._get(i, copy=False) for i in ids if i not in cached}
        if not cached:
            return found
        if self._events_after is None:
            return found | {i: self._get(i, copy=False) for i in cached}
        try:
            stored = self._events_after({i: a.version for i, a in cached.items()})
        except PersistenceError as exc:
            raise StoreUnavailable(f"cannot read the event store: {exc}") from exc
        for record in sorted(stored, key=lambda r: r.originator_version):
            event: Any = self.app.mapper.to_domain_event(record)
            aggregate_id = UUID(str(record.originator_id))
            cached[aggregate_id] = event.mutate(cached[aggregate_id])
        for aggregate_id, aggregate in cached.items():
            self.app.repository.cache.put(aggregate_id, aggregate)
        return found | cached

    def save(self, *aggregates: Any) -> None:
        try:
            recordings = self.app.save(*aggregates)
        except RecordConflictError:
            raise
        except PersistenceError as exc:
            raise StoreUnavailable(f"cannot write to the event store: {exc}") from exc
        self._new_events.extend(r.domain_event for r in recordings)
        self._last_position = max([self._last_position] + [r.notification.id for r in recordings])

    def collect_new_events(self) -> list[Any]:
        events, self._new_events = self._new_events, []
        return events

    def discard_new_events(self) -> None:
        self._new_events = []

    def _to_logged(self, notification: Any) -> LoggedEvent:
        event: Any = self.app.mapper.to_domain_event(notification)
        qualname = type(event).__qualname__
        return LoggedEvent(
            position=notification.id,
            timestamp=event.timestamp,
            aggregate_type=qualname.split(".")[0],
            aggregate_id=event.originator_id,
            version=event.originator_version,
            event_type=qualname.split(".")[-1],
            payload={k: v for k, v in event.__dict__.items() if k not in _ENVELOPE},
        )

    def read_log(self, start: int = 1, limit: int = 1000, event_types: Sequence[str] = ()) -> list[LoggedEvent]:
        topics = event_topics(*event_types) if event_types else ()
        try:
            notifications = self.app.recorder.select_notifications(start=start, limit=limit, topics=topics)
        except PersistenceError as exc:
            raise StoreUnavailable(f"cannot read the event store: {exc}") from exc
        return [self._to_logged(n) for n in notifications]

    def iter_log(self, start: int = 1, event_types: Sequence[str] = (), page: int = 1000) -> Iterator[LoggedEvent]:
        while True:
            batch = self.read_log(start, page, event_types)
            yield from batch
            if len(batch) < page:
                return
            start = batch[-1].position + 1

    def max_position(self) -> int:
        try:
            return self.app.recorder.max_notification_id() or 0
        except PersistenceError as exc:
            raise StoreUnavailable(f"cannot read the event store: {exc}") from exc

    def last_recorded_position(self) -> int:
        return self._last_position

    def close(self) -> None:
        self.app.close()


OPEN_ATTEMPTS = 6


def opening(make: Callable[[], Any], what: str) -> Any:
    """Open a store, retrying briefly: processes that open a new PostgreSQL store at the same
    time race on its CREATE TABLE IF NOT EXISTS ('tuple concurrently updated')."""
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            return make()
        except (PersistenceError, StoreUnavailable) as exc:
            if attempt == OPEN_ATTEMPTS:
                raise StoreUnavailable(f"cannot open the {what}: {exc}") from None
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    raise AssertionError("unreachable")
