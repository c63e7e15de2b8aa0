"""``gpu move``: one card handed from the VM that holds it to another VM that configures it,
as the recorded steps of a ``GpuMove`` (see domain/gpu_move.py).

1. drain: the holder's SLURM node is drained and its jobs may end (``--force``: they are
   requeued once the wait is over); a Kubernetes node is cordoned and drained by the stop.
2. stop_holder: the holder stops, which gives its leases back.
3. start_target: the target starts, which takes the lease and waits for its guest.
4. ready: the target's SLURM node is resumed and idle, or its Kubernetes node Ready with
   ``nvidia.com/gpu`` allocatable, when its cluster is deployed.

Each step looks at how things are before it acts, so a move that stopped half way (a crash,
a failed start) is finished by running it again; ``reconcile`` settles one nobody finishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_how.app import processes
from ai_how.app.errors import InfrastructureError
from ai_how.app.faults import crash_point
from ai_how.app.host.capacity import CapacityExceeded
from ai_how.app.ports import EventStore, Hypervisor, KubernetesApi, SlurmAt, SlurmControl
from ai_how.app.progress import Progress
from ai_how.app.waiting import poll
from ai_how.domain.cluster import ClusterKind
from ai_how.domain.commands import CapacityPolicy, JobPolicy, MoveGpu, StartVms, StopVms
from ai_how.domain.errors import DomainError, MoveRefused, UnknownObject
from ai_how.domain.gpu import Gpu
from ai_how.domain.gpu_move import STEPS, GpuMove
from ai_how.domain.ids import cluster_id, gpu_id, move_id, vm_id
from ai_how.domain.specs import VmPlan, VmSpec
from ai_how.domain.vm import OURS, Vm, VmState

from .capacity_guard import guard

POLL_S = 5.0
READY_WAIT_S = 300.0  # a resumed SLURM node, or a Kubernetes node with its GPU, after the guest is up


@dataclass
class MoveResult:
    pci_address: str
    holder: str | None
    target: str
    steps: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    resumed: bool = False  # an interrupted move was finished

    def as_dict(self) -> dict[str, Any]:
        return {"pci_address": self.pci_address, "from": self.holder, "to": self.target, "steps": self.steps,
                "seconds": round(self.seconds, 1), "resumed": self.resumed}


def _slurm_of(store: EventStore, vm: Vm, slurm_at: SlurmAt) -> SlurmControl | None:
    """The SLURM controller of ``vm``'s cluster, when that cluster is deployed and it runs."""
    cluster = store.get(cluster_id(vm.cluster))
    if cluster is None or cluster.kind != ClusterKind.HPC or vm.role != "compute" or not cluster.is_deployed:
        return None
    controller = store.get(vm_id(f"{cluster.name}-controller"))
    if controller is None or controller.state != VmState.RUNNING:
        return None
    spec: VmSpec = controller.spec
    if not spec.has_os or not spec.ip:
        return None
    return slurm_at(spec.login, spec.ip)


def _kubernetes_of(store: EventStore, vm: Vm) -> Path | None:
    """The admin kubeconfig of ``vm``'s cluster, when Kubernetes is deployed there and the VM is a node."""
    cluster = store.get(cluster_id(vm.cluster))
    if cluster is None or cluster.kind != ClusterKind.CLOUD or cluster.kube is None or not cluster.is_deployed:
        return None
    return Path(cluster.kube.kubeconfig)


def _wait(check: Callable[[], bool], timeout_s: float, sleep: Callable[[float], None]) -> bool:
    return poll(check, bool, timeout_s, POLL_S, sleep)


def drain_slurm(slurm: SlurmControl, node: str, reason: str, timeout_s: float, force: bool, progress: Progress,
                sleep: Callable[[float], None] = time.sleep) -> str:
    """Drain ``node`` and wait for its jobs; when the wait is over, requeue them (``force``) or
    resume the node and refuse."""
    slurm.drain(node, reason)
    progress(node, f"SLURM node drained; waiting up to {timeout_s:.0f} s for its jobs")
    jobs: list[str] = []

    def empty() -> bool:
        jobs[:] = slurm.jobs_on(node)
        return not jobs

    if _wait(empty, timeout_s, sleep):
        return f"SLURM node {node} drained, no job left on it"
    if not force:
        slurm.resume(node)
        raise MoveRefused(f"{node} still runs SLURM job(s) {', '.join(jobs)} after {timeout_s:.0f} s: its node is "
                          "resumed and nothing was moved; wait for them, give a longer --drain-timeout, or --force to "
                          "requeue them")
    requeued = list(jobs)
    slurm.requeue(requeued)
    progress(node, f"requeued job(s) {', '.join(requeued)} (--force)")
    if not _wait(lambda: not slurm.jobs_on(node), 120, sleep):
        raise InfrastructureError(f"{node} still runs jobs after requeueing {', '.join(requeued)}")
    return f"SLURM node {node} drained; job(s) {', '.join(requeued)} requeued (--force)"


@dataclass
class Handover:
    store: EventStore
    bus: Any
    slurm_at: SlurmAt
    kubernetes: KubernetesApi
    progress: Progress
    move: GpuMove
    stop_timeout_s: float
    sleep: Callable[[float], None] = time.sleep

    def _vm(self, name: str | None) -> Vm | None:
        return self.store.get(vm_id(name)) if name else None

    def _target(self) -> Vm:
        target = self._vm(self.move.target)
        if target is None:
            raise UnknownObject(f"VM {self.move.target} is no longer known; the move cannot go on")
        return target

    def drain(self) -> str:
        holder = self._vm(self.move.holder)
        if holder is None or holder.state != VmState.RUNNING:
            return "nothing to drain: the holder is not running"
        slurm = _slurm_of(self.store, holder, self.slurm_at)
        if slurm is not None:
            reason = f"{OURS} gpu move {self.move.pci_address} to {self.move.target}"
            said = drain_slurm(slurm, holder.name, reason, self.move.drain_timeout_s, self.move.force, self.progress,
                               self.sleep)
            holder.record_slurm_drained(reason, [])
            self.store.save(holder)
            return said
        if _kubernetes_of(self.store, holder) is not None:
            return "its Kubernetes node is cordoned and drained as its VM stops"
        return "no workload to drain: its cluster is not deployed"

    def stop_holder(self) -> str:
        holder = self._vm(self.move.holder)
        if holder is None or holder.state in (VmState.STOPPED, VmState.DEFINED, VmState.DESTROYED):
            return "the holder is not running"
        # Its SLURM jobs were dealt with by the drain step: the stop does not ask again.
        self.bus.handle(StopVms((holder.name,), self.stop_timeout_s, drain=not self.move.force,
                                jobs=JobPolicy("force")))
        gpu: Gpu | None = self.store.get(gpu_id(self.move.pci_address))
        if gpu is not None and gpu.holder == holder.name:
            raise InfrastructureError(f"{holder.name} stopped but still holds GPU {gpu.pci_address}")
        return f"{holder.name} stopped; its lease released"

    def start_target(self) -> str:
        target = self._target()
        if target.state == VmState.RUNNING:
            return f"{target.name} runs already"
        self.bus.handle(StartVms((target.name,)))
        return f"{target.name} started with the lease"

    def ready(self) -> str:
        target = self._target()
        if target.state != VmState.RUNNING:
            raise InfrastructureError(f"{target.name} is {target.state}, not running")
        slurm = _slurm_of(self.store, target, self.slurm_at)
        if slurm is not None:
            reason = slurm.reason(target.name)
            if reason and not reason.startswith(OURS) and slurm.state(target.name).startswith(("drain", "drng")):
                raise InfrastructureError(f"SLURM node {target.name} was drained by hand ({reason}): ai-how leaves "
                                          "it so; resume it with 'ai-how hpc ssh -- sudo scontrol update "
                                          f"nodename={target.name} state=resume' and run the move again")
            slurm.resume(target.name)
            if target.slurm_drain is not None:
                target.record_slurm_resumed()
                self.store.save(target)
            if not _wait(lambda: slurm.state(target.name) in ("idle", "mix", "alloc"), READY_WAIT_S, self.sleep):
                raise InfrastructureError(f"SLURM node {target.name} is {slurm.state(target.name)}, not idle, "
                                          f"{READY_WAIT_S:.0f} s after its guest came up")
            return f"SLURM node {target.name} resumed and idle"
        kubeconfig = _kubernetes_of(self.store, target)
        cluster = self.store.get(cluster_id(target.cluster))
        if kubeconfig is not None and target.name not in cluster.nodes:
            return (f"{target.name} runs, but is no Kubernetes node of {cluster.name} yet: join it with 'ai-how cloud "
                    f"deploy CONFIG --limit {target.name}'")
        if kubeconfig is not None:
            def has_gpu() -> bool:
                try:
                    node = next((n for n in self.kubernetes.nodes(kubeconfig) if n.name == target.name), None)
                except InfrastructureError:
                    return False
                return node is not None and node.ready and not node.unschedulable and node.gpus >= 1
            if not _wait(has_gpu, READY_WAIT_S, self.sleep):
                raise InfrastructureError(f"Kubernetes node {target.name} is not Ready with nvidia.com/gpu "
                                          f"allocatable {READY_WAIT_S:.0f} s after its guest came up")
            return f"Kubernetes node {target.name} Ready with nvidia.com/gpu allocatable"
        return f"{target.name} runs; its cluster is not deployed, so no node to wait for"


class ResumeHolder:
    """A move that ends short of stopping its holder gives the holder's SLURM node back to the
    scheduler: the holder still runs and holds the card, so its drain would only idle it."""

    def __init__(self, store: EventStore, slurm_at: SlurmAt) -> None:
        self.store = store
        self.slurm_at = slurm_at

    def __call__(self, move: GpuMove) -> str | None:
        holder: Vm | None = self.store.get(vm_id(move.holder)) if move.holder else None
        gpu: Gpu | None = self.store.get(gpu_id(move.pci_address))
        if holder is None or holder.state != VmState.RUNNING or gpu is None or gpu.holder != holder.name:
            return None
        try:
            slurm = _slurm_of(self.store, holder, self.slurm_at)
            if slurm is None or not slurm.reason(holder.name).startswith(OURS):
                return None
            slurm.resume(holder.name)
        except InfrastructureError as exc:
            return (f"SLURM node {holder.name} may still be drained ({exc}); resume it with 'ai-how hpc ssh -- sudo "
                    f"scontrol update nodename={holder.name} state=resume'")
        return f"SLURM node {holder.name} resumed: it still runs and holds the card"


def _holder(store: EventStore, command: MoveGpu) -> str | None:
    """The card's holder, once the move is found possible."""
    gpu = store.get(gpu_id(command.pci_address))
    if gpu is None:
        raise UnknownObject(f"GPU {command.pci_address} is not known; it is registered when a cluster using it is "
                            "started (see 'ai-how gpu list')")
    target = store.get(vm_id(command.target))
    if target is None or target.state == VmState.DESTROYED:
        raise UnknownObject(f"VM {command.target} is not known; start its cluster first ('ai-how hpc|cloud start "
                            "CONFIG')")
    if command.pci_address not in target.gpus:
        raise MoveRefused(f"{target.name} does not configure GPU {command.pci_address}; "
                          + (f"it configures {', '.join(target.gpus)}" if target.gpus else "it configures no GPU"))
    holder = gpu.holder
    if command.source is not None and holder != command.source:
        raise MoveRefused(f"GPU {command.pci_address} is held by {holder or 'no VM'}, not {command.source}")
    if holder == target.name:
        raise MoveRefused(f"GPU {command.pci_address} is held by {target.name} already: the target and the holder "
                          "are one VM")
    return holder


def _fits(store: EventStore, hypervisor: Hypervisor, topology: Any, holder: str | None, target_name: str) -> None:
    """Refused before the drain, not half way: the target must fit once the holder is off."""
    target = store.get(vm_id(target_name))
    if target.state == VmState.RUNNING:
        return
    try:
        guard(hypervisor.host_capacity, topology, [VmPlan(target.name, target.cluster, target.role, target.spec)],
              CapacityPolicy(), store.get(cluster_id(target.cluster)), leaving=(holder,) if holder else (),
              free_hugepages=hypervisor.free_hugepages)
    except CapacityExceeded as refused:
        refused.hint = f"fix: {refused.fix}; nothing was drained or stopped"  # a move's --force requeues jobs
        raise


def move_gpu(command: MoveGpu, store: EventStore, bus: Any, slurm_at: SlurmAt, kubernetes: KubernetesApi,
             progress: Progress, hypervisor: Hypervisor, live_topology: Any,
             resume_holder: Callable[[GpuMove], str | None]) -> MoveResult:
    found: GpuMove | None = store.get(move_id(command.pci_address))
    me = processes.this_process()
    if found is not None and found.in_progress and processes.alive(found.owner) and found.owner != me:
        raise MoveRefused(f"GPU {command.pci_address} is being moved to {found.target} by process "
                          f"{processes.pid_of(found.owner)} now; wait for it (see 'ai-how gpu list')")
    resumed = found is not None and found.in_progress
    if resumed and found.target != command.target:
        raise MoveRefused(f"GPU {command.pci_address} was being moved to {found.target} when that move stopped: "
                          f"finish it ('ai-how gpu move {command.pci_address} --to {found.target}'), or run "
                          "'ai-how reconcile' to record it as failed")
    if found is not None and resumed:
        move = found
        move.resume(me)
    else:
        holder = _holder(store, command)
        _fits(store, hypervisor, live_topology.catch_up(), holder, command.target)
        if found is None:
            move = GpuMove(pci_address=command.pci_address, holder=holder, target=command.target,
                           drain_timeout_s=command.drain_timeout_s, force=command.force, owner=me)
        else:
            found.restart(holder, command.target, command.drain_timeout_s, command.force, me)
            move = found
    store.save(move)
    subject = f"GPU {command.pci_address}"
    progress(subject, (f"finishing its move to {move.target}" if resumed else
                       f"moving from {move.holder or 'no VM'} to {move.target}"))
    handover = Handover(store, bus, slurm_at, kubernetes, progress, move, command.stop_timeout_s)
    began = time.monotonic()
    for step in STEPS:
        if step in move.done:
            continue
        try:
            detail = getattr(handover, step)()
        except (DomainError, InfrastructureError) as exc:
            move.fail(step, str(exc))
            store.save(move)
            undone = resume_holder(move)
            if undone:
                progress(subject, undone)
            raise
        move.step_done(step, detail)
        store.save(move)
        progress(subject, f"{step.replace('_', ' ')}: {detail}")
        crash_point(f"gpu-move-after-{step}")
    seconds = time.monotonic() - began
    move.finish(seconds)
    store.save(move)
    return MoveResult(command.pci_address, move.holder, move.target, dict(move.done), seconds, resumed)


COMMAND_HANDLERS: dict[type, Any] = {MoveGpu: move_gpu}
