"""Keeping the views caught up with the log, rebuilding them, and folding the past."""

from __future__ import annotations

import time
from datetime import datetime

from .ports import EventStore, Views, ViewsConflict
from .projection import Topology

CATCH_UP_ATTEMPTS = 5


def catch_up(store: EventStore, views: Views, target: int | None = None) -> Topology:
    """Bring the views up to ``target`` (default: the log's current end) and return the
    topology as of there, so a query reads it without loading the views again.

    Another process may get there first: its save then covers these events too, and there
    is nothing left to do. Losing a save to one that did not reach as far starts again from
    its position: nothing is applied twice. Should every save be lost, the topology folded
    here is still right; the next catch-up writes it.
    """
    if target is None:
        target = store.max_position()
    topology = Topology()
    for _ in range(CATCH_UP_ATTEMPTS):
        topology = views.load()  # one round trip, with the position: no separate check first
        if topology.position >= target:
            return topology
        for event in store.iter_log(start=topology.position + 1):
            if event.position > target:
                break
            topology.apply(event)
        try:
            views.save(topology)
            return topology
        except ViewsConflict:
            continue
    return topology


def rebuild(store: EventStore, views: Views) -> tuple[int, float]:
    """Drop the views and fold the whole log again: (events, seconds)."""
    started = time.perf_counter()
    views.clear()
    topology = Topology()
    count = 0
    for event in store.iter_log():
        topology.apply(event)
        count += 1
    for table in Topology.TABLES:
        topology.changed.update((table, key) for key in topology.table(table))
    views.save(topology)
    return count, time.perf_counter() - started


def topology_at(store: EventStore, position: int | None = None, moment: datetime | None = None) -> Topology:
    """The topology as it was after ``position``, or at ``moment``."""
    topology = Topology()
    for event in store.iter_log():
        if (position is not None and event.position > position) or (moment is not None and event.timestamp > moment):
            break
        topology.apply(event)
    return topology
