"""Pinned VMs' host CPUs, chosen in the start's decision and given back with its stop (see
``domain.cpus``): saved with the start intents, so a refusal leaves nothing made and two starts
at once conflict on the one ``HostCpus`` record, the second choosing again."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ai_how.app.ports import EventStore
from ai_how.domain.cpus import HostCpus, Pins
from ai_how.domain.ids import host_cpus_id, vm_id
from ai_how.domain.specs import VmPlan
from ai_how.domain.vm import Vm, VmState


def _gpu_node(gpus: Sequence[str], numa_node_of: Callable[[str], int | None]) -> int | None:
    """The NUMA node of the VM's first card that sysfs places on one (-1: no node)."""
    return next((n for n in map(numa_node_of, gpus) if n is not None and n >= 0), None)


def pin_cpus(vms: Sequence[Vm], store: EventStore, layout: Callable[[], dict[int, list[int]]],
             numa_node_of: Callable[[str], int | None]) -> list[HostCpus]:
    """Pins for each of ``vms`` that asks for them; the record to save (none if none pinned)."""
    wanted = [vm for vm in vms if vm.spec.cpu_pinning]
    if not wanted:
        return []
    cpus: HostCpus = store.get(host_cpus_id()) or HostCpus()
    host = layout()
    for vm in wanted:
        cpus.pin(vm.name, vm.spec.cpu_cores, host, _gpu_node(vm.gpus, numa_node_of))
    return [cpus]


def check_pins(plans: Sequence[VmPlan], store: EventStore, layout: Callable[[], dict[int, list[int]]],
               numa_node_of: Callable[[str], int | None] = lambda _address: None) -> None:
    """Refuse (``CpusUnavailable``) before anything is made a start whose pinned VMs would not get
    their CPUs: the choice of ``pin_cpus`` on a copy, saved nowhere. VMs that run keep theirs."""
    wanted = [p for p in plans if p.spec.cpu_pinning]
    if not wanted:
        return
    cpus: HostCpus = store.get(host_cpus_id()) or HostCpus()
    host = layout()
    for plan in wanted:
        vm: Vm | None = store.read(vm_id(plan.name))
        if vm is not None and vm.state == VmState.RUNNING:
            continue
        cpus.pin(plan.name, plan.spec.cpu_cores, host, _gpu_node(plan.spec.gpus, numa_node_of))


def unpin(store: EventStore, vm: str, reason: str) -> list[HostCpus]:
    cpus: HostCpus | None = store.get(host_cpus_id())
    return [cpus] if cpus is not None and cpus.unpin(vm, reason) else []


def pins_of(store: EventStore, vm: str) -> Pins | None:
    cpus: HostCpus | None = store.read(host_cpus_id())
    return cpus.pins_of(vm) if cpus is not None else None
