"""SLURM nodes around their VMs' stops and starts: no command ends a job by surprise.

Before a running HPC node stops (``vm stop|restart``, ``hpc stop|destroy``, ``system
stop|destroy``), SLURM is asked which jobs run on it or wait for it by name (for the
controller: which run anywhere in the cluster). None: the stop goes ahead. Some: refused,
naming them, unless ``--drain`` (drain, wait for them, then stop; at the timeout the nodes
are resumed and the stop refused) or ``--force`` (drain, requeue what can be requeued, stop).
Drains ai-how sets carry a reason starting ``ai-how:`` and are recorded; when the node's
guest is back, ai-how resumes the nodes it drained and never one an operator drained.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import EventStore, SlurmAt, SlurmControl, SlurmJob
from ai_how.app.progress import Progress
from ai_how.app.waiting import poll
from ai_how.domain.cluster import Cluster, ClusterKind
from ai_how.domain.commands import Command, JobPolicy
from ai_how.domain.errors import JobsRunning, SchedulerUnavailable
from ai_how.domain.ids import cluster_id, vm_id
from ai_how.domain.vm import OURS, Vm, VmState

POLL_S = 5.0
REQUEUE_WAIT_S = 120.0
RESUME_WAIT_S = 90.0  # slurmctld answering after the guest that runs it is up
LIVE = ("RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED")
# A job whose processes have ended (COMPLETING: SLURM is cleaning up after it) holds no work a
# stop could lose: it does not refuse one, though a drain still waits for it to be gone.
ENDED = ("COMPLETING",)


def slurm_of(store: EventStore, cluster: Cluster, slurm_at: SlurmAt) -> SlurmControl | None:
    """The SLURM of a deployed HPC cluster whose controller runs."""
    if cluster.kind != ClusterKind.HPC or cluster.last_deploy is None:
        return None
    controller: Vm | None = store.get(vm_id(f"{cluster.name}-controller"))
    if controller is None or controller.state != VmState.RUNNING or not controller.spec.ip:
        return None
    return slurm_at(controller.spec.login, str(controller.spec.ip))


def _ways_on(names: list[str]) -> str:
    return (f"wait for them and stop again; or stop with --drain [--drain-timeout S] to let them end first; or "
            f"with --force to requeue them and stop now ({', '.join(names)})")


class JobsBeforeStop:
    """``BeforeStop``'s SLURM half: what a stop does about the jobs on the nodes it stops."""

    def __init__(self, store: EventStore, slurm_at: SlurmAt, progress: Progress,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store, self.slurm_at, self.progress, self.sleep = store, slurm_at, progress, sleep

    def __call__(self, vms: list[str], policy: JobPolicy) -> list[str]:
        by_cluster: dict[str, list[Vm]] = {}
        for name in vms:
            vm: Vm | None = self.store.get(vm_id(name))
            if vm is not None and vm.state == VmState.RUNNING and vm.role in ("controller", "compute"):
                by_cluster.setdefault(vm.cluster, []).append(vm)
        notes: list[str] = []
        for name, stopping in by_cluster.items():
            cluster: Cluster | None = self.store.get(cluster_id(name))
            slurm = slurm_of(self.store, cluster, self.slurm_at) if cluster is not None else None
            if cluster is not None and slurm is not None:
                notes += self._guard(cluster, slurm, stopping, policy)
        return notes

    def _guard(self, cluster: Cluster, slurm: SlurmControl, stopping: list[Vm], policy: JobPolicy) -> list[str]:
        names = [vm.name for vm in stopping]
        whole = any(vm.role == "controller" for vm in stopping)
        computes = [vm.name for vm in stopping if vm.role == "compute"]
        try:
            jobs = [j for j in slurm.jobs(None if whole else computes)
                    if j.state not in ENDED and (not whole or j.state in LIVE)]
        except InfrastructureError as exc:
            if policy.mode == "force":
                return [f"SLURM of {cluster.name} does not answer ({exc}); stopping {', '.join(names)} without "
                        "asking it (--force): any job there ends with its VM"]
            unanswered = SchedulerUnavailable(f"SLURM of {cluster.name} does not answer, so ai-how cannot tell "
                                              f"whether jobs run on {', '.join(names)}: {exc}")
            unanswered.hint = ("check its controller ('ai-how hpc status'), or stop anyway with --force: any job "
                               "there ends with its VM")
            raise unanswered from None
        if not jobs:
            return []
        if policy.mode == "refuse":
            refused = JobsRunning(f"{len(jobs)} SLURM job(s) run or wait on {', '.join(names)}: "
                                  + "; ".join(job.line() for job in jobs))
            refused.hint = _ways_on(names)
            raise refused
        nodes = sorted({n for job in jobs for n in job.nodes if n.startswith(f"{cluster.name}-compute")} | set(computes))
        drained = self._drain(slurm, nodes, jobs, f"{OURS} stopping {', '.join(names)}")
        if policy.mode == "drain":
            return [self._wait(slurm, nodes, drained, policy.timeout_s, names)]
        return [self._requeue(slurm, nodes, jobs, cluster)]

    def _drain(self, slurm: SlurmControl, nodes: list[str], jobs: list[SlurmJob], reason: str) -> list[str]:
        """Drain each node not drained by hand already; record the drain. The nodes drained."""
        drained = []
        for node in nodes:
            said = slurm.reason(node)  # one question over SSH per node
            if said and not said.startswith(OURS):
                continue  # an operator's drain: left as it is, never resumed by ai-how
            slurm.drain(node, reason)
            vm = self.store.get(vm_id(node))
            if vm is not None:
                vm.record_slurm_drained(reason, [j.id for j in jobs if node in j.nodes])
                self.store.save(vm)
            drained.append(node)
            self.progress(node, "SLURM node drained: no new job starts there")
        return drained

    def _wait(self, slurm: SlurmControl, nodes: list[str], drained: list[str], timeout_s: float,
              names: list[str]) -> str:
        began = time.monotonic()
        self.progress(", ".join(nodes), f"waiting up to {timeout_s:.0f} s for their SLURM jobs to end")
        left = poll(lambda: [j for j in slurm.jobs(nodes) if j.state in LIVE], lambda jobs: not jobs, timeout_s,
                    POLL_S, self.sleep)
        if not left:
            return f"SLURM node(s) {', '.join(nodes)} drained; their jobs ended in {time.monotonic() - began:.0f} s"
        for node in drained:
            self._resume(slurm, node)
        refused = JobsRunning(f"{len(left)} SLURM job(s) still run after {timeout_s:.0f} s of draining: "
                              + "; ".join(job.line() for job in left) + f"; {', '.join(drained) or 'no node'} resumed, "
                              "nothing stopped")
        refused.hint = _ways_on(names)
        raise refused

    def _requeue(self, slurm: SlurmControl, nodes: list[str], jobs: list[SlurmJob], cluster: Cluster) -> str:
        running = [j.id for j in jobs if j.state in LIVE]
        requeued, ended = slurm.requeue_each(running) if running else ([], [])
        for node in nodes or [f"{cluster.name}-controller"]:
            vm = self.store.get(vm_id(node))
            mine = {j.id for j in jobs if node in j.nodes} if nodes else set(running)
            if vm is not None and mine & set(running):
                vm.record_slurm_requeued([j for j in requeued if j in mine], [j for j in ended if j in mine])
                self.store.save(vm)
        poll(lambda: [j for j in slurm.jobs(nodes or None) if j.state in LIVE and j.id not in ended], lambda left: not left,
             REQUEUE_WAIT_S, POLL_S, self.sleep, retry_on=(InfrastructureError,))
        waiting = [j.id for j in jobs if j.state not in LIVE]
        return ("SLURM job(s) " + (f"{', '.join(requeued)} requeued: they run again when a node takes them"
                                   if requeued else "none requeued")
                + (f"; {', '.join(ended)} could not be requeued and end with the VM" if ended else "")
                + (f"; {', '.join(waiting)} still wait in the queue" if waiting else "") + " (--force)")

    def _resume(self, slurm: SlurmControl, node: str) -> bool:
        """Resume ``node`` if the drain on it is still ai-how's; record it either way it ends."""
        vm: Vm | None = self.store.get(vm_id(node))
        if vm is None or vm.slurm_drain is None:
            return False
        if slurm.reason(node).startswith(OURS):
            slurm.resume(node)
            resumed = True
        else:
            resumed = False  # drained again by hand since, or resumed: not ai-how's to touch
        vm.record_slurm_resumed()
        self.store.save(vm)
        return resumed


def resume_drained(event: Vm.GuestReady, store: EventStore, slurm_at: SlurmAt, progress: Progress) -> Command | None:
    """A guest is up: the nodes of its cluster that ai-how drained before their stop (this one,
    or all of them when it is the controller) are resumed once SLURM answers."""
    vm: Vm | None = store.read(event.originator_id)
    cluster: Cluster | None = store.get(cluster_id(vm.cluster)) if vm is not None else None
    if vm is None or cluster is None or cluster.kind != ClusterKind.HPC:
        return None
    names = [vm.name] if vm.role == "compute" else [n for n in cluster.vms if n.startswith(f"{cluster.name}-compute")]
    drained = [n for n in names if (node := store.get(vm_id(n))) is not None and node.slurm_drain is not None
               and node.state == VmState.RUNNING]
    slurm = slurm_of(store, cluster, slurm_at)
    if not drained or slurm is None:
        return None
    guard = JobsBeforeStop(store, slurm_at, progress)
    for node in drained:
        try:
            poll(lambda: slurm.reason(node), lambda _: True, RESUME_WAIT_S, POLL_S, retry_on=(InfrastructureError,))
            said = "SLURM node resumed: it takes jobs again" if guard._resume(slurm, node) else \
                "left as it is: its drain is not ai-how's any more"
        except InfrastructureError as exc:
            said = (f"SLURM node still drained by ai-how ({exc}); resume it with 'ai-how hpc ssh -- sudo scontrol "
                    f"update nodename={node} state=resume'")
        progress(node, said)
    return None


EVENT_HANDLERS: dict[type, Any] = {Vm.GuestReady: [(resume_drained, None, False)]}
