"""Keeping the views caught up with the log (from each process's own copy of the topology),
rebuilding them, and folding the past."""

from __future__ import annotations

import time
from datetime import datetime

from ai_how.app.ports import EventStore, Views, ViewsConflict

from .projection import Topology

CATCH_UP_ATTEMPTS = 5


class LiveTopology:
    """This process's copy of the topology, kept caught up with the log and written to the views.

    The first catch-up starts from the views as saved (one statement gives rows and position).
    Later ones read only the log after the copy's position, fold it here and write the rows
    that changed. Each write is guarded: it lands only while the views stand between the
    copy's base (where they stood when it was loaded or last written) and its new position.
    So rows are never written over newer ones, and never into views that were cleared or
    restored behind the copy's back: the copy is then dropped and the views loaded again.
    """

    def __init__(self, store: EventStore, views: Views) -> None:
        self.store = store
        self.views = views
        self._topology: Topology | None = None
        self._base = 0

    def catch_up(self, target: int | None = None) -> Topology:
        """Up to ``target`` (default: the end of the log). The topology returned is this
        process's copy: to read, not to change."""
        try:
            return self._catch_up(target)
        except BaseException:
            self._topology = None  # a copy folded halfway is not trusted again
            raise

    def _catch_up(self, target: int | None) -> Topology:
        """Should the views go back under every attempt, the fold is still right; the next
        catch-up writes it."""
        topology = Topology()
        for _ in range(CATCH_UP_ATTEMPTS):
            if self._topology is None:
                self._topology = self.views.load()
                self._base = self._topology.position
            topology = self._topology
            if target is not None and topology.position >= target:
                return topology
            for event in self.store.iter_log(start=topology.position + 1):
                if target is not None and event.position > target:
                    break
                topology.apply(event)
            if topology.position > self._base:
                try:
                    self.views.save(topology, since=self._base)
                except ViewsConflict as conflict:
                    if conflict.position < topology.position:  # they went back (cleared, restored): reload
                        self._topology = None
                        continue
                    topology.changed.clear()  # another process wrote this far or further
                self._base = topology.position
            return topology
        return topology


def rebuild(store: EventStore, views: Views) -> tuple[int, float]:
    """Fold the whole log again and put the result in place of the views: (events, seconds)."""
    started = time.perf_counter()
    topology = Topology()
    count = 0
    for event in store.iter_log():
        topology.apply(event)
        count += 1
    views.replace(topology)
    return count, time.perf_counter() - started


def topology_at(store: EventStore, position: int | None = None, moment: datetime | None = None) -> Topology:
    """The topology as it was after ``position``, or at ``moment``."""
    topology = Topology()
    for event in store.iter_log():
        if (position is not None and event.position > position) or (moment is not None and event.timestamp > moment):
            break
        topology.apply(event)
    return topology
