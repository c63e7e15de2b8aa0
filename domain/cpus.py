"""The host's CPUs as pinned VMs hold them: one aggregate for the whole host, so that two starts
choosing CPUs at once conflict on save and the second chooses again from what the first left.

A pinned VM's vCPUs each get a host CPU no other running pinned VM holds, taken on the GPU's
NUMA node first when the VM has a GPU, from the highest-numbered CPU down (CPU 0 is where the
host's own interrupts and daemons mostly run). Its emulator threads go to the CPUs no pinned
vCPU holds; on a host with none left, they share the VM's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import CpusUnavailable
from .ids import host_cpus_id


def cpu_list(cpus: list[int] | tuple[int, ...]) -> str:
    """CPU numbers as libvirt and Linux write them: 0-3,6."""
    ranges: list[str] = []
    for cpu in sorted(set(cpus)):
        if ranges and cpu == int(ranges[-1].split("-")[-1]) + 1:
            ranges[-1] = f"{ranges[-1].split('-')[0]}-{cpu}"
        else:
            ranges.append(str(cpu))
    return ",".join(ranges)


def has_flag(flags: frozenset[str], name: str) -> bool:
    """Does the CPU have feature ``name``? libvirt writes sse4.1 and tsc-deadline where
    /proc/cpuinfo writes sse4_1 and tsc_deadline."""
    return name in flags or name.replace(".", "_").replace("-", "_") in flags


@dataclass(frozen=True)
class Pins:
    """Where a pinned VM runs: vCPU i on ``cpus[i]``; its emulator on ``emulator``; ``node``
    the host NUMA node its memory is kept on (its GPU's), if known."""

    cpus: tuple[int, ...]
    emulator: tuple[int, ...]
    node: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"cpus": list(self.cpus), "emulator": list(self.emulator), "node": self.node}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pins:
        return cls(tuple(data["cpus"]), tuple(data["emulator"]), data.get("node"))

    def describe(self) -> str:
        where = f" on NUMA node {self.node}" if self.node is not None else ""
        return f"vCPUs on host CPUs {cpu_list(self.cpus)}{where}, emulator on {cpu_list(self.emulator)}"


def choose(vm: str, vcpus: int, layout: dict[int, list[int]], held: dict[str, tuple[int, ...]],
           node: int | None) -> Pins:
    """``layout``: each host NUMA node's CPUs; ``held``: the CPUs other pinned VMs hold."""
    every = sorted(c for cpus in layout.values() for c in cpus)
    if vcpus > len(every):
        raise CpusUnavailable(f"{vm} pins {vcpus} vCPUs, but this host has {len(every)} CPUs")
    taken = {c for cpus in held.values() for c in cpus}
    order = sorted(layout, key=lambda n: (n != node, n))
    free = [c for n in order for c in sorted(layout[n], reverse=True) if c not in taken]
    if len(free) < vcpus:
        holders = ", ".join(f"{name} ({cpu_list(cpus)})" for name, cpus in sorted(held.items()))
        error = CpusUnavailable(f"{vm} pins {vcpus} vCPUs, but only {len(free)} of this host's {len(every)} CPUs "
                                f"are free: {holders} hold the others")
        error.hint = (f"stop one of them first ('ai-how vm stop NAME'), or give {vm}'s cluster "
                      "performance.cpu_pinning: false")
        raise error
    chosen = tuple(free[:vcpus])
    spare = tuple(c for c in every if c not in taken and c not in chosen)
    on_node = node if node is not None and set(chosen) <= set(layout.get(node, ())) else None
    return Pins(chosen, spare or tuple(sorted(chosen)), on_node)


class HostCpus(Aggregate):
    class VcpusPinned(Aggregate.Event):
        vm: str
        pins: dict[str, Any]

    class VcpusUnpinned(Aggregate.Event):
        vm: str
        reason: str

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return host_cpus_id()

    @event("HostCpusOpened")
    def __init__(self) -> None:
        self.held: dict[str, dict[str, Any]] = {}

    def pins_of(self, vm: str) -> Pins | None:
        data = self.held.get(vm)
        return Pins.from_dict(data) if data is not None else None

    def pin(self, vm: str, vcpus: int, layout: dict[int, list[int]], node: int | None) -> Pins:
        others = {name: tuple(p["cpus"]) for name, p in self.held.items() if name != vm}
        pins = choose(vm, vcpus, layout, others, node)
        if self.pins_of(vm) != pins:
            self._pinned(vm, pins.to_dict())
        return pins

    @event(VcpusPinned)
    def _pinned(self, vm: str, pins: dict[str, Any]) -> None:
        self.held[vm] = pins

    def unpin(self, vm: str, reason: str) -> bool:
        if vm not in self.held:
            return False
        self._unpinned(vm, reason)
        return True

    @event(VcpusUnpinned)
    def _unpinned(self, vm: str, reason: str) -> None:
        del self.held[vm]
