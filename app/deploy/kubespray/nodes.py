"""A deployed Cloud cluster's nodes kept in step with their VMs: a worker that comes up
joins (Kubespray's scale.yml) or is uncordoned; one that stops is drained first."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import EventStore, KeyStore, KubernetesApi, Provisioner
from ai_how.app.progress import Progress
from ai_how.domain.cluster import Cluster, ClusterKind
from ai_how.domain.commands import Command, JobPolicy, JoinNode
from ai_how.domain.errors import DrainTimedOut
from ai_how.domain.ids import cluster_id, vm_id
from ai_how.domain.vm import Vm, VmState

from ..runs import failure_of, run, run_id
from .common import (
    SCALE,
    api_nodes,
    cloud_cluster,
    deployed,
    hosts_of,
    kube,
    login_of,
    playbook_run,
    running_rows,
    settle_nodes,
)
from .inventory import WORKER_ROLES


def join_node(command: JoinNode, store: EventStore, provisioner: Provisioner, live_topology: Any, keys: KeyStore,
              kubernetes: KubernetesApi, progress: Progress) -> str:
    """Kubespray's scale.yml for one running worker; ``NodeJoined``, or ``NodeJoinFailed`` and
    the failure raised. The run id is returned."""
    provisioner.check()
    cluster = cloud_cluster(store, command.name)
    if not deployed(cluster):
        raise UsageError(f"{command.name} has no deployed Kubernetes to join: run 'ai-how cloud deploy CONFIG' "
                         "first")
    rows = running_rows(live_topology, cluster)
    row = next((r for r in rows if r.name == command.vm), None)
    if row is None or row.role not in WORKER_ROLES:
        workers = [r.name for r in rows if r.role in WORKER_ROLES]
        raise UsageError(f"--limit {command.vm}: not a running worker of {command.name} "
                         f"(running workers: {', '.join(workers) or 'none'})")
    deployed_as = kube(cluster)
    layout = dict(deployed_as.layout)
    join = run_id(command.name, False).replace("-deploy-", "-join-")
    began = time.monotonic()
    try:
        scale = playbook_run(join, cluster.name, SCALE, hosts_of(rows), layout, keys, login_of(rows), limit=command.vm)
        run(provisioner, scale, progress, f"{command.vm} joins Kubernetes")
        settle_nodes(kubernetes, Path(deployed_as.kubeconfig), [command.vm], dict(deployed_as.settings), progress)
    except Exception as exc:
        host, task, message, _, _ = failure_of(exc)
        fresh = store.get(cluster_id(command.name))
        fresh.record_node_join_failed(command.vm, join, host, task, message)
        store.save(fresh)
        raise
    joined = store.get(cluster_id(command.name))
    joined.record_node_joined(command.vm, join, time.monotonic() - began)
    store.save(joined)
    return join


def follow_guest(event: Vm.GuestReady, store: EventStore, kubernetes: KubernetesApi,
                 progress: Progress) -> Command | None:
    """A Cloud worker's guest is up: a worker that is no node yet joins (or is told how); one
    ai-how drained before its stop is uncordoned."""
    vm = store.read(event.originator_id)
    if vm.role not in WORKER_ROLES:
        return None
    cluster = store.get(cluster_id(vm.cluster))
    if cluster is None or cluster.kind != ClusterKind.CLOUD or not deployed(cluster):
        return None
    if vm.name in cluster.drained:
        kubeconfig = Path(kube(cluster).kubeconfig)
        deadline = time.monotonic() + 120
        api_nodes(kubernetes, kubeconfig, deadline)
        kubernetes.cordon(kubeconfig, vm.name, unschedulable=False)
        cluster.record_node_resumed(vm.name)
        store.save(cluster)
        progress(vm.name, "node uncordoned: it takes pods again")
        return None
    if vm.name in cluster.nodes:
        return None
    if not kube(cluster).auto_join:
        progress(vm.name, f"not a Kubernetes node yet (auto_join: false); join it with "
                          f"'ai-how cloud deploy CONFIG --limit {vm.name}'")
        return None
    return JoinNode(cluster.name, vm.name)


class DrainBeforeStop:
    """``BeforeStop``: a Kubernetes node's VM is cordoned and drained before it stops, unless
    its whole cluster goes down with it (no control plane left to drain to) or ``drain`` is
    off (``--force``)."""

    def __init__(self, store: EventStore, kubernetes: KubernetesApi, progress: Progress,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.kubernetes = kubernetes
        self.progress = progress
        self.sleep = sleep

    def __call__(self, vms: list[str], drain: bool, jobs: JobPolicy | None = None) -> list[str]:
        notes = []
        for name in vms:
            vm = self.store.get(vm_id(name))
            if vm is None or vm.state != VmState.RUNNING or vm.role not in WORKER_ROLES:
                continue
            cluster = self.store.get(cluster_id(vm.cluster))
            if cluster is None or not deployed(cluster) or name not in cluster.nodes:
                continue
            control = f"{cluster.name}-control-plane"
            control_vm = self.store.get(vm_id(control))
            if control in vms or control_vm is None or control_vm.state != VmState.RUNNING:
                continue
            if not drain:
                notes.append(f"{name} stops without a drain (--force): its pods end with it")
                continue
            notes.append(self._drain(cluster, name))
        return notes

    def _drain(self, cluster: Cluster, name: str) -> str:
        deployed_as = kube(cluster)
        kubeconfig, timeout_s = Path(deployed_as.kubeconfig), deployed_as.drain_timeout_s
        began = time.monotonic()
        self.kubernetes.cordon(kubeconfig, name)
        self.progress(name, "cordoned; evicting its pods")
        moved = self.kubernetes.pods_on(kubeconfig, name)
        while True:
            self.kubernetes.evict(kubeconfig, name)
            left = self.kubernetes.pods_on(kubeconfig, name)
            if not left:
                break
            if time.monotonic() - began >= timeout_s:
                raise DrainTimedOut(f"{name} still runs {len(left)} pod(s) after {timeout_s:.0f} s of draining "
                                    f"({', '.join(left[:5])}); it stays cordoned and running: wait and stop it "
                                    "again, or stop it now with --force")
            self.sleep(2)
        seconds = time.monotonic() - began
        fresh = self.store.get(cluster_id(cluster.name))
        fresh.record_node_drained(name, moved, seconds)
        self.store.save(fresh)
        return f"{name} drained: {len(moved)} pod(s) moved in {seconds:.0f} s"


COMMAND_HANDLERS: dict[type, Any] = {JoinNode: join_node}
EVENT_HANDLERS: dict[type, Any] = {Vm.GuestReady: [(follow_guest, None, False)]}
