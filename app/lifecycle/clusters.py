"""Command handlers for VM and cluster lifecycles.

VM handlers record intents and outcomes; the hypervisor is driven by the event handlers in
``sagas``. Cluster handlers are process managers: they send VM commands over the bus and
undo what they started when a step fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ai_how.app.bus import decide
from ai_how.app.errors import InfrastructureError
from ai_how.app.faults import crash_point
from ai_how.app.guests.seeds import seeds_for
from ai_how.app.images.catalogue import resolve as resolve_images
from ai_how.app.ports import EventStore, Hypervisor, KeyStore, PrepareReport, SnapshotIndex, TeardownReport
from ai_how.domain.cluster import ClusterStatus
from ai_how.domain.commands import (
    DestroyCluster,
    JobPolicy,
    MarkVmStarted,
    MarkVmStartFailed,
    MarkVmStopped,
    ProvisionCluster,
    RecordBackOnHost,
    RecordVfioBinding,
    RedefineCluster,
    RestartVm,
    StartCluster,
    StartVms,
    StopCluster,
    StopVms,
)
from ai_how.domain.errors import GpuLeasedElsewhere, InvalidTransition, UnknownObject
from ai_how.domain.ids import cluster_id, snapshot_id
from ai_how.domain.specs import VmPlan
from ai_how.domain.vm import StopReason, VmState

from .capacity_guard import guard
from .hooks import BeforeStop
from .leases import load_gpu, load_vm, load_with_cards, release_from
from .pins import check_pins, pin_cpus, unpin
from .redefine import RedefineResult

if TYPE_CHECKING:
    from ai_how.app.bus import MessageBus
    from ai_how.app.readside.views import LiveTopology


def _changed(store: EventStore, name: str, change: Callable[[Any], object]) -> Any:
    """The cluster as stored now, with ``change`` applied: a decision for ``decide``."""
    cluster = store.get(cluster_id(name))
    change(cluster)
    return cluster


@dataclass
class VmBatchResult:
    acted_on: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already in the wanted state
    notes: list[str] = field(default_factory=list)  # what happened before (a node drained)


def start_vms(command: StartVms, store: EventStore, host_capacity: Callable[[], tuple[int, int]],
              live_topology: LiveTopology, host_hugepages: Callable[[], dict[int, int]],
              host_cpu_layout: Callable[[], dict[int, list[int]]],
              numa_node_of: Callable[[str], int | None]) -> VmBatchResult:
    """Lease every GPU, pin every pinned VM's vCPUs and record every start intent in one save:
    all of them or none; none beyond the host's capacity unless forced, and then the decision
    is recorded with them."""
    result = VmBatchResult()
    loaded = load_with_cards(store, command.vms, holders=True, changing_vms=True)
    starting = [VmPlan(vm.name, vm.cluster, vm.role, vm.spec) for vm in loaded.vms if vm.state != VmState.RUNNING]
    clusters = {vm.cluster: store.get(cluster_id(vm.cluster)) for vm in loaded.vms}
    forced = guard(host_capacity, live_topology.catch_up(), starting, command.capacity,
                   next(iter(clusters.values()), None), free_hugepages=host_hugepages)
    overridden = []
    if forced is not None:
        for name, cluster in clusters.items():
            cluster.record_capacity_override([vm.name for vm in starting if vm.cluster == name], forced)
            overridden.append(cluster)
    for vm in loaded.vms:
        if vm.state == VmState.RUNNING:
            result.skipped.append(vm.name)
            continue
        vm.request_start()
        for gpu in loaded.cards(vm):
            try:
                gpu.lease(vm.name)
            except GpuLeasedElsewhere as refused:
                error = GpuLeasedElsewhere(gpu.pci_address, refused.holder, loaded.holder_state(refused.holder))
                error.hint = (f"stop {refused.holder} first ('ai-how vm stop {refused.holder}' or stop its "
                              f"cluster), then start {vm.name} again")
                raise error from None
        result.acted_on.append(vm.name)
    pinned = pin_cpus([vm for vm in loaded.vms if vm.name in result.acted_on], store, host_cpu_layout, numa_node_of)
    # Leases first: their GPUs are bound to vfio-pci before any start.
    store.save(*loaded.gpus.values(), *pinned, *loaded.vms, *overridden)
    crash_point("after-lease-saved")
    return result


def mark_vm_started(command: MarkVmStarted, store: EventStore) -> None:
    vm = load_vm(store, command.vm)
    vm.mark_started(observed=command.observed)
    if command.ready is not None:
        vm.mark_guest_ready(*command.ready)
    crash_point("before-vm-started-saved")
    store.save(vm)


def mark_vm_start_failed(command: MarkVmStartFailed, store: EventStore) -> None:
    """The failed start and the return of its GPUs and CPUs are one save: no lease outlives it."""
    loaded = load_with_cards(store, [command.vm], changing_vms=True)
    vm = loaded.vms[0]
    vm.mark_start_failed(command.error)
    store.save(vm, *release_from(vm, loaded.cards(vm), "start failed"), *unpin(store, vm.name, "start failed"))


def stop_vms(command: StopVms, store: EventStore, before_stop: BeforeStop) -> VmBatchResult:
    result = VmBatchResult()
    vms = [load_vm(store, name) for name in command.vms]
    result.notes = before_stop([vm.name for vm in vms if vm.state not in (VmState.DEFINED, VmState.STOPPED)],
                               command.drain, command.jobs)

    def stopping() -> list[Any]:
        vms = [load_vm(store, name) for name in command.vms]  # as the drain left them
        result.acted_on, result.skipped = [], []
        for vm in vms:
            if vm.state in (VmState.DEFINED, VmState.STOPPED):
                result.skipped.append(vm.name)
                continue
            vm.request_stop(timeout=command.timeout)
            result.acted_on.append(vm.name)
        return vms

    decide(store, stopping)
    return result


def mark_vm_stopped(command: MarkVmStopped, store: EventStore) -> None:
    loaded = load_with_cards(store, [command.vm], changing_vms=True)
    vm = loaded.vms[0]
    vm.mark_stopped(StopReason(command.reason))
    if command.restart:
        vm.request_start()  # its GPUs stay leased to it across the restart
        store.save(vm)
    else:
        reason = f"vm stopped ({command.reason})"
        store.save(vm, *release_from(vm, loaded.cards(vm), reason), *unpin(store, vm.name, reason))


def restart_vm(command: RestartVm, store: EventStore, before_stop: BeforeStop) -> list[str]:
    vm = load_vm(store, command.vm)
    if vm.state != VmState.RUNNING:
        raise InvalidTransition(f"cannot restart VM {vm.name}: it is {vm.state}; start it with 'ai-how vm start {vm.name}'")
    notes = before_stop([vm.name], True, command.jobs)
    vm = load_vm(store, command.vm)  # as the drain left it
    vm.request_stop(timeout=command.timeout, restart=True)
    store.save(vm)
    return notes


@dataclass
class ClusterStartResult:
    prepared: PrepareReport
    started: list[str]
    already_running: list[str]
    left_off: list[str]  # auto_start: false
    redefined: RedefineResult = field(default_factory=RedefineResult)

    def as_dict(self) -> dict[str, Any]:
        return {"started": self.started, "already_running": self.already_running, "left_off": self.left_off,
                "created": self.prepared.created, "adopted": self.prepared.adopted, "differs": self.prepared.differs,
                "warnings": self.prepared.warnings, "redefined": self.redefined.redefined,
                "added": self.redefined.added, "kept_running": self.redefined.untouched,
                "snapshot_before": self.redefined.snapshot}


def start_cluster(command: StartCluster, store: EventStore, hypervisor: Hypervisor, bus: MessageBus,
                  live_topology: LiveTopology, keys: KeyStore,
                  numa_node_of: Callable[[str], int | None]) -> ClusterStartResult:
    topology = live_topology.catch_up()
    plan = resolve_images(command.plan, topology)
    recorded = store.get(cluster_id(plan.name))
    wanted_plans = [vm for vm in plan.vms if vm.spec.auto_start]
    guard(hypervisor.host_capacity, topology, wanted_plans, command.capacity, recorded,  # before anything is made
          free_hugepages=hypervisor.free_hugepages)
    check_pins(wanted_plans, store, hypervisor.host_cpu_layout, numa_node_of)
    redefined = (bus.handle(RedefineCluster(command.plan, command.snapshot_keep)) if command.redefine
                 else RedefineResult())
    bus.handle(ProvisionCluster(plan, changed_ok=command.redefine))
    reserve_gb, max_vcpu_ratio = command.capacity.reserve_gb, command.capacity.max_vcpu_ratio
    if reserve_gb is not None and max_vcpu_ratio is not None:
        decide(store, lambda: [_changed(store, plan.name, lambda c: c.record_host_limits(reserve_gb, max_vcpu_ratio))])
    prepared = hypervisor.prepare_cluster(plan, seeds_for(plan.vms, plan.network, keys))
    crash_point("after-define")
    wanted = tuple(vm.name for vm in wanted_plans)
    left_off = [vm.name for vm in plan.vms if not vm.spec.auto_start]
    running_before = {name for name in wanted if load_vm(store, name).state == VmState.RUNNING}
    try:
        batch: VmBatchResult = bus.handle(StartVms(wanted, command.capacity)) if wanted else VmBatchResult()
    except InfrastructureError as failure:
        ours = [n for n in wanted if n not in running_before and load_vm(store, n).state == VmState.RUNNING]
        if ours:
            bus.handle(StopVms(tuple(ours), command.rollback_timeout, jobs=JobPolicy("force")))  # just started
        undone = f"stopped {', '.join(ours)} again" if ours else "no VM of it was left running"
        raise InfrastructureError(f"cluster {plan.name} did not start: {failure}. Rolled back: {undone}; "
                                  "no GPU lease of this start is left") from failure
    decide(store, lambda: [_changed(store, plan.name, lambda c: c.mark_started())])
    return ClusterStartResult(prepared, batch.acted_on, batch.skipped, left_off, redefined)


def stop_cluster(command: StopCluster, store: EventStore, bus: MessageBus) -> VmBatchResult:
    cluster = store.get(cluster_id(command.name))
    if cluster is None or cluster.status == ClusterStatus.DESTROYED:
        raise UnknownObject(f"cluster {command.name} is not running here; nothing to stop")
    result: VmBatchResult = bus.handle(StopVms(tuple(cluster.vms), command.timeout, command.drain, command.jobs))
    decide(store, lambda: [_changed(store, command.name, lambda c: c.mark_stopped())])
    return result


@dataclass
class ClusterDestroyResult:
    known: bool
    stopped: list[str]
    removed: TeardownReport
    notes: list[str] = field(default_factory=list)  # what was done before the stop (jobs requeued)


def destroy_cluster(command: DestroyCluster, store: EventStore, hypervisor: Hypervisor, bus: MessageBus,
                    keys: KeyStore, snapshot_names: SnapshotIndex) -> ClusterDestroyResult:
    cluster = store.get(cluster_id(command.name))
    known = cluster is not None and cluster.status != ClusterStatus.DESTROYED
    stopped: list[str] = []
    notes: list[str] = []
    if known:
        batch: VmBatchResult = bus.handle(StopVms(tuple(cluster.vms), command.timeout, jobs=command.jobs))
        stopped, notes = batch.acted_on, batch.notes
    removed = hypervisor.teardown_cluster(command.name)
    if known:
        gone: list[str] = []  # snapshots whose layers went with the disks

        def destroyed() -> list[Any]:
            cluster = store.get(cluster_id(command.name))
            vms = [load_vm(store, name) for name in cluster.vms]
            for vm in vms:
                vm.destroy()
            cluster.destroy()
            snapshots = [s for n in snapshot_names.of(command.name) if (s := store.get(snapshot_id(command.name, n)))
                         is not None and not s.deleted]
            for snapshot in snapshots:
                snapshot.delete("cluster destroyed")
            gone[:] = [s.name for s in snapshots]
            return [cluster, *vms, *snapshots]

        decide(store, destroyed)
        if gone:
            notes.append(f"its snapshots went with its disks: {', '.join(gone)}")
        for vm_name in store.read(cluster_id(command.name)).vms:
            keys.forget(vm_name)
        keys.forget_cluster(command.name)
    return ClusterDestroyResult(known, stopped, removed, notes)


def record_vfio_binding(command: RecordVfioBinding, store: EventStore) -> None:
    gpu = load_gpu(store, command.pci_address)
    gpu.record_vfio_binding(dict(command.originals))
    store.save(gpu)


def record_back_on_host(command: RecordBackOnHost, store: EventStore) -> None:
    gpu = load_gpu(store, command.pci_address)
    gpu.record_back_on_host()
    store.save(gpu)


COMMAND_HANDLERS: dict[type, Any] = {
    RecordVfioBinding: record_vfio_binding,
    RecordBackOnHost: record_back_on_host,
    StartVms: start_vms,
    MarkVmStarted: mark_vm_started,
    MarkVmStartFailed: mark_vm_start_failed,
    StopVms: stop_vms,
    MarkVmStopped: mark_vm_stopped,
    RestartVm: restart_vm,
    StartCluster: start_cluster,
    StopCluster: stop_cluster,
    DestroyCluster: destroy_cluster,
}
