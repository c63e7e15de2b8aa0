"""Reconciliation: compare the log with libvirt's real domain states and record the truth.

Run by ``ai-how reconcile`` and before every mutating command and every status. Stops are
corrected before starts, so a GPU freed by a dead VM can go to one found running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ai_how.app.bus import MessageBus

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ai_how.app.bus import idempotent
from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import DomainInfo, DomainState, EventStore, Hypervisor, PciHost
from ai_how.app.waiting import poll
from ai_how.domain.cluster import ClusterStatus
from ai_how.domain.commands import AdoptOrphans, ProvisionCluster, Reconcile, RemoveOrphans
from ai_how.domain.errors import GpuLeasedElsewhere
from ai_how.domain.gpu import Gpu
from ai_how.domain.ids import cluster_id
from ai_how.domain.vm import StopReason, Vm, VmState

from .leases import load_gpu, load_vm, release_held
from .moves import settle_moves
from .pins import unpin

LIVE = (DomainState.RUNNING, DomainState.PAUSED, DomainState.STARTING, DomainState.OTHER)  # QEMU holds the devices
SETTLE_S = 60.0  # how long a start libvirtd is still making (its caller killed, say) is given to finish
SETTLE_POLL_S = 0.5


@dataclass
class ReconcileReport:
    changes: list[str] = field(default_factory=list)  # what was recorded, one sentence each
    conflicts: list[str] = field(default_factory=list)  # what a person must resolve
    orphans: list[DomainInfo] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)


def known_vms(store: EventStore) -> list[Vm]:
    """Every VM the log knows and has not destroyed, read from the aggregates (the truth).

    Shared copies (``read``): to change one, load it again with ``load_vm``."""
    vms = []
    for provisioned in store.iter_log(event_types=["ClusterProvisioned"]):
        cluster = store.read(provisioned.aggregate_id)
        if cluster.status != ClusterStatus.DESTROYED:
            vms += [vm for vm in (store.read(Vm.create_id(n)) for n in cluster.vms) if vm is not None]
    return [vm for vm in vms if vm.state != VmState.DESTROYED]


def _released(gpus: list[Gpu]) -> str:
    return f" and GPU {', '.join(g.pci_address for g in gpus)} released" if gpus else ""


def _correct_stop(store: EventStore, vm: Vm, actual: DomainState, report: ReconcileReport) -> None:
    if vm.state == VmState.STARTING:
        vm.mark_start_failed(f"the start was interrupted before {vm.name} ran (libvirt: {actual})")
        gpus = release_held(store, vm, "start interrupted")
        store.save(vm, *gpus, *unpin(store, vm.name, "start interrupted"))
        report.changes.append(f"{vm.name}: its start never finished; recorded as failed{_released(gpus)}")
        return
    if vm.state == VmState.STOPPING:
        vm.mark_stopped(StopReason.REQUESTED)
        gpus = release_held(store, vm, "vm stopped (requested)")
        store.save(vm, *gpus, *unpin(store, vm.name, "vm stopped (requested)"))
        report.changes.append(f"{vm.name}: its stop had finished; recorded as stopped{_released(gpus)}")
        return
    reason = StopReason.CRASHED if actual == DomainState.CRASHED else StopReason.OBSERVED
    vm.mark_stopped(reason)
    gpus = release_held(store, vm, f"vm stopped ({reason})")
    store.save(vm, *gpus, *unpin(store, vm.name, f"vm stopped ({reason})"))
    how = "crashed" if reason == StopReason.CRASHED else f"was found {actual} outside ai-how"
    report.changes.append(f"{vm.name} {how}; recorded as stopped ({reason}){_released(gpus)}")


def _correct_start(store: EventStore, vm: Vm, report: ReconcileReport) -> None:
    was = vm.state
    vm.mark_started(observed=was != VmState.STARTING)
    gpus = [load_gpu(store, a) for a in vm.gpus]
    leased, refused = [], []
    for gpu in gpus:
        try:
            gpu.lease(vm.name)
            leased.append(gpu)
        except GpuLeasedElsewhere as leased_elsewhere:
            refused.append(leased_elsewhere)
    store.save(vm, *leased)
    if was == VmState.STARTING:
        report.changes.append(f"{vm.name}: its start had finished; recorded as running")
    else:
        report.changes.append(f"{vm.name} was found running outside ai-how; recorded as running"
                              + (f", GPUs {', '.join(g.pci_address for g in leased)} leased to it" if leased else ""))
    for held in refused:
        report.conflicts.append(f"{vm.name} runs outside ai-how with GPU {held.pci_address}, which is leased to "
                                f"{held.holder}: two VMs cannot use one GPU; stop one of them "
                                f"('ai-how vm stop {vm.name}')")


def _return_free_gpus(store: EventStore, pci_host: PciHost, report: ReconcileReport) -> None:
    """A card whose return to its host drivers failed earlier gets another try."""
    for registered in store.iter_log(event_types=["GpuRegistered"]):
        with pci_host.exclusive():
            gpu = store.get(registered.aggregate_id)
            if gpu.holder is not None or gpu.host_drivers is None:
                continue
            try:
                pci_host.restore_drivers(gpu.host_drivers)
            except InfrastructureError as exc:
                report.conflicts.append(f"GPU {gpu.pci_address} is free but still on vfio-pci: {exc}")
                continue
        gpu.record_back_on_host()
        store.save(gpu)
        report.changes.append(f"GPU {gpu.pci_address} was free but still on vfio-pci; given back to its host drivers")


@idempotent
def reconcile(command: Reconcile, store: EventStore, hypervisor: Hypervisor, pci_host: PciHost,
              resume_holder: Callable[[Any], str | None], settle_snapshots: Callable[[], list[str]]) -> ReconcileReport:
    report = ReconcileReport()
    domains = {d.name: d for d in hypervisor.list_domains()}
    vms = [vm for vm in known_vms(store) if not command.vms or vm.name in command.vms]

    def actual(vm: Vm) -> DomainState:
        found = domains.get(vm.name)
        return found.state if found is not None else hypervisor.domain_state(vm.name)

    states = {vm.name: actual(vm) for vm in vms}
    for name in [name for name, state in states.items() if state == DomainState.STARTING]:
        states[name] = poll(lambda: hypervisor.domain_state(name), lambda s: s != DomainState.STARTING,
                            SETTLE_S, SETTLE_POLL_S)
    for vm in vms:
        live = states[vm.name] in LIVE
        if vm.state in (VmState.RUNNING, VmState.STARTING, VmState.STOPPING) and not live:
            _correct_stop(store, load_vm(store, vm.name), states[vm.name], report)
    for vm in vms:
        live = states[vm.name] in LIVE
        if vm.state in (VmState.DEFINED, VmState.STOPPED, VmState.STARTING) and live:
            _correct_start(store, load_vm(store, vm.name), report)
        elif vm.state == VmState.STOPPING and live:
            current = load_vm(store, vm.name)
            current.mark_started(observed=True)
            store.save(current)
            report.changes.append(f"{vm.name}: its stop never finished and it still runs; recorded as running")
    if command.moves:
        report.changes += settle_moves(store, resume_holder)
    if not command.vms:
        known = {vm.name for vm in vms}
        report.orphans = [d for d in domains.values() if d.name not in known]
        _return_free_gpus(store, pci_host, report)
        report.changes += settle_snapshots()  # a snapshot restore cut off half way
    return report


def adopt_orphans(command: AdoptOrphans, store: EventStore, hypervisor: Hypervisor,
                  bus: MessageBus) -> ReconcileReport:
    """Record the config's clusters whose domains libvirt has but the store lost, then reconcile."""
    orphans = {d.name: d for d in bus.handle(Reconcile()).orphans}
    adopted = []
    for plan in command.plans:
        cluster = store.get(cluster_id(plan.name))
        if any(vm.name in orphans for vm in plan.vms) and (cluster is None or cluster.status == ClusterStatus.DESTROYED):
            bus.handle(ProvisionCluster(plan))
            adopted += [vm.name for vm in plan.vms if vm.name in orphans]
    report: ReconcileReport = bus.handle(Reconcile())
    report.adopted = adopted
    return report


def remove_orphans(command: RemoveOrphans, hypervisor: Hypervisor, bus: MessageBus) -> ReconcileReport:
    report: ReconcileReport = bus.handle(Reconcile())
    for orphan in report.orphans:
        hypervisor.remove_domain(orphan.name, orphan.cluster)
        report.removed.append(orphan.name)
    report.orphans = []
    return report


COMMAND_HANDLERS: dict[type, Any] = {Reconcile: reconcile, AdoptOrphans: adopt_orphans, RemoveOrphans: remove_orphans}
