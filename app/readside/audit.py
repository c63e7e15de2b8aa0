"""``audit verify``: replay the whole log and check the rules that must never have been broken."""

from __future__ import annotations

from dataclasses import dataclass

from ai_how.app.ports import EventStore

from .projection import Topology

AFTER_DESTROY_ALLOWED = {"VmRedefined", "ClusterReprovisioned"}


@dataclass(frozen=True)
class Violation:
    position: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"#{self.position} [{self.rule}] {self.message}"


def verify(store: EventStore) -> tuple[int, list[Violation]]:
    """(events checked, violations): two holders of one GPU, a release by another VM than
    the holder, a VM started without its GPUs leased, anything after a destroy."""
    topology = Topology()
    destroyed: set[str] = set()
    found: list[Violation] = []
    count = 0
    for event in store.iter_log():
        count += 1
        kind, key = topology.subject(event)
        aggregate = str(event.aggregate_id)
        p = event.payload
        if aggregate in destroyed and event.event_type not in AFTER_DESTROY_ALLOWED:
            found.append(Violation(event.position, "after-destroy", f"{event.event_type} for {kind} {key} after it was destroyed"))
        if event.event_type == "GpuLeased":
            holder = topology.gpus.get(key, {}).get("holder")
            if holder is not None and holder != p["vm"]:
                found.append(Violation(event.position, "two-holders",
                                       f"GPU {key} leased to {p['vm']} while {holder} held it"))
        elif event.event_type == "GpuReleased":
            holder = topology.gpus.get(key, {}).get("holder")
            if holder != p["vm"]:
                found.append(Violation(event.position, "release-by-non-holder",
                                       f"GPU {key} released by {p['vm']}, but its holder was {holder or 'nobody'}"))
        elif event.event_type == "VmStarted":
            vm = topology.vms.get(key, {})
            missing = [a for a in vm.get("spec", {}).get("gpus", []) if topology.gpus.get(a, {}).get("holder") != key]
            if missing:
                found.append(Violation(event.position, "started-without-lease",
                                       f"VM {key} started without holding GPU {', '.join(missing)}"))
        if event.event_type in ("VmDestroyed", "ClusterDestroyed"):
            destroyed.add(aggregate)
        elif event.event_type in AFTER_DESTROY_ALLOWED:
            destroyed.discard(aggregate)
        topology.apply(event)
    return count, found
