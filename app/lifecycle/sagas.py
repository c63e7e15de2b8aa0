"""Event handlers that drive the hypervisor: the start and stop sagas of DESIGN.md.

They read the store (``read``: shared copies, not to be changed) but never write it; each
returns the command that records the outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ai_how.app.errors import InfrastructureError
from ai_how.app.faults import crash_point
from ai_how.app.ports import EventStore, GuestAccess, Hypervisor, PciFunction, PciHost
from ai_how.app.progress import Progress
from ai_how.domain.commands import (
    Command,
    MarkVmStarted,
    MarkVmStartFailed,
    MarkVmStopped,
    RecordBackOnHost,
    RecordVfioBinding,
    ReleaseGpus,
)
from ai_how.domain.errors import UnknownObject
from ai_how.domain.gpu import Gpu
from ai_how.domain.ids import cluster_id, vm_id
from ai_how.domain.specs import VmPlan
from ai_how.domain.vm import Vm, VmState

from .pins import pins_of


@dataclass(frozen=True)
class Timing:
    start_wait_s: float = 120.0  # how long a started domain may take to reach 'running'
    ready_wait_s: float = 600.0  # how long a running guest may take to answer SSH (TCG is slow)


def _vm(store: EventStore, event: Any) -> Vm:
    vm: Vm | None = store.read(event.originator_id)
    if vm is None:
        raise UnknownObject(f"the VM of event {type(event).__name__} is not in the store")
    return vm


def start_domain(event: Vm.VmStartRequested, store: EventStore, hypervisor: Hypervisor, timing: Timing,
                 guests: GuestAccess, progress: Progress) -> Command | None:
    """Start the domain and, for a VM that boots an OS, wait until its guest answers SSH with
    its pinned host key: only then is it started."""
    vm = _vm(store, event)
    if vm.state != VmState.STARTING:
        return None  # the start already failed (e.g. its GPU could not be bound)
    cluster = store.read(cluster_id(vm.cluster))
    plan = VmPlan(vm.name, vm.cluster, vm.role, vm.spec, pins=pins_of(store, vm.name) if vm.spec.cpu_pinning else None)
    address = plan.spec.ip
    ready = (lambda: guests.answers(plan.spec.login, address)) if plan.spec.has_os and address else None
    began = time.monotonic()
    progress(vm.name, "defined; starting")
    profile = hypervisor.start_vm(cluster.network, plan, timing.start_wait_s, ready, timing.ready_wait_s,
                                  lambda message: progress(vm.name, message))
    crash_point("after-domain-start")
    if ready is None:
        return MarkVmStarted(vm.name)
    seconds = time.monotonic() - began
    progress(vm.name, f"ready: answers SSH ({profile}, {seconds:.0f} s)")
    return MarkVmStarted(vm.name, ready=(str(address), profile, seconds))


def record_start_failure(event: Vm.VmStartRequested, error: Exception, store: EventStore) -> Command:
    return MarkVmStartFailed(_vm(store, event).name, str(error))


def stop_domain(event: Vm.VmStopRequested, store: EventStore, hypervisor: Hypervisor) -> Command:
    vm = _vm(store, event)
    hypervisor.shutdown_vm(vm.name, event.timeout)
    return MarkVmStopped(vm.name, "requested", restart=event.restart)


def group_functions(pci_host: PciHost, addresses: list[str]) -> list[str]:
    """Every non-bridge function in the IOMMU groups of ``addresses``: a group moves whole."""
    seen: dict[str, PciFunction | None] = {}

    def function(address: str) -> PciFunction | None:  # each read from sysfs once
        if address not in seen:
            seen[address] = pci_host.function(address)
        return seen[address]

    found: list[str] = []
    for address in addresses:
        own = function(address)
        members = pci_host.iommu_group(own.iommu_group) if own and own.iommu_group is not None else []
        for member in members or [address]:
            info = function(member)
            if member not in found and (info is None or not info.is_bridge):
                found.append(member)
    return found


def bind_gpu(event: Gpu.GpuLeased, store: EventStore, pci_host: PciHost) -> Command | None:
    """Under the host's PCI lock, the lease as it is now: a card given back meanwhile stays put."""
    with pci_host.exclusive():
        gpu = store.read(event.originator_id)
        if gpu.holder != event.vm:
            return None
        try:
            originals = pci_host.bind_to_vfio(group_functions(pci_host, gpu.function_addresses))
        except InfrastructureError as exc:
            raise InfrastructureError(f"cannot hand GPU {gpu.pci_address} to vfio-pci: {exc}") from exc
    return RecordVfioBinding(gpu.pci_address, tuple(sorted(originals.items())))


def record_bind_failure(event: Gpu.GpuLeased, error: Exception, store: EventStore) -> Command:
    """A card that cannot be bound fails its VM's start (which gives the lease back)."""
    gpu = store.read(event.originator_id)
    vm = store.read(vm_id(event.vm))
    if vm is not None and vm.state == VmState.STARTING:
        return MarkVmStartFailed(event.vm, str(error))
    return ReleaseGpus(event.vm, (gpu.pci_address,), reason=str(error))


def return_gpu_to_host(event: Gpu.GpuReleased, store: EventStore, pci_host: PciHost) -> Command | None:
    """Under the host's PCI lock, the card as it is now: one leased again meanwhile stays on vfio-pci."""
    with pci_host.exclusive():
        gpu = store.read(event.originator_id)
        if gpu.host_drivers is None or gpu.holder is not None:
            return None
        pci_host.restore_drivers(gpu.host_drivers)
    return RecordBackOnHost(gpu.pci_address)
