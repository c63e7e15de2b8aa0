"""What the Kubernetes deploy and the node joins share: the running Cloud cluster and its
hosts, a Kubespray run of them, and the nodes as the API server sees them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.ports import EventStore, KeyStore, KubernetesApi, PlaybookRun
from ai_how.app.progress import Progress
from ai_how.app.waiting import poll
from ai_how.domain.cluster import Cluster, ClusterKind
from ai_how.domain.deployment import KubernetesState
from ai_how.domain.specs import VmRecord

from ..runs import running_cluster, running_guests
from .inventory import kubespray_inventory, ssh_access

PLAYBOOK = "playbooks/deploy-cloud-cluster.yml"
SCALE = "playbooks/scale-cloud-cluster.yml"


def cloud_cluster(store: EventStore, name: str) -> Cluster:
    return running_cluster(store, name, ClusterKind.CLOUD)


def running_rows(live_topology: Any, cluster: Cluster) -> list[VmRecord]:
    """The cluster's running VMs, once its control plane runs and each boots a guest."""
    rows: list[VmRecord] = live_topology.catch_up().vms_of(cluster.name)
    return running_guests(rows, cluster.name, "control-plane", "cloud-base")


def hosts_of(rows: list[VmRecord]) -> list[dict[str, Any]]:
    return [{"name": r.name, "role": r.role, "ip": r.spec.ip} for r in rows]


def playbook_run(run_id: str, cluster: str, playbook: str, hosts: list[dict[str, Any]], layout: dict[str, Any],
                  keys: KeyStore, login: str, limit: str | None = None,
                  extravars: dict[str, Any] | None = None) -> PlaybookRun:
    private_key, _ = keys.platform_key()
    files = kubespray_inventory(cluster, hosts, layout["settings"], layout["kube_version"],
                                ssh_access(login, private_key, keys.known_hosts))
    group_vars = {path.removeprefix("group_vars/"): content for path, content in files.items()
                  if path.startswith("group_vars/")}
    checkout = Path(layout["kubespray_dir"])
    return PlaybookRun(run_id, cluster, playbook, files["hosts.yaml"],
                       {"kubespray_dir": str(checkout), **(extravars or {})}, limit, False,
                       binary=layout["settings"]["binary"], group_vars=group_vars,
                       roles_paths=(str(checkout / "roles"),))


def login_of(rows: list[VmRecord]) -> str:
    return sorted(r.spec.login for r in rows)[0]


def settle_nodes(kubernetes: KubernetesApi, kubeconfig: Path, names: list[str], settings: dict[str, Any],
                 progress: Progress, timeout_s: float | None = None) -> None:
    """Labels and taints from the config on each node, then every one Ready."""
    timeout_s = settings.get("ready_timeout_s", 900) if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    pending = list(names)
    known: dict[str, Any] = {}

    def label_the_ready() -> list[str]:
        known.update({n.name: n for n in api_nodes(kubernetes, kubeconfig, deadline)})
        for name in [n for n in pending if n in known and known[n].ready]:
            node = settings["nodes"].get(name, {})
            kubernetes.label_and_taint(kubeconfig, name, node.get("labels", {}), node.get("taints", []))
            progress(name, "node Ready; labelled and tainted as configured")
            pending.remove(name)
        return pending

    if poll(label_the_ready, lambda left: not left, timeout_s, 3):
        states = ", ".join(f"{n} ({'NotReady' if n in known else 'not registered'})" for n in pending)
        raise InfrastructureError(f"nodes not Ready after {timeout_s:.0f} s: {states}; see 'kubectl describe "
                                  "node' with the cluster's kubeconfig")


def api_nodes(kubernetes: KubernetesApi, kubeconfig: Path, deadline: float) -> list[Any]:
    """The nodes; an API server that is still coming up is asked again until the deadline."""
    return poll(lambda: kubernetes.nodes(kubeconfig), lambda _: True, max(0.0, deadline - time.monotonic()), 3,
                retry_on=(InfrastructureError,))


def kube(cluster: Cluster) -> KubernetesState:
    """Its Kubernetes, where one is known to be there."""
    found = cluster.kube
    if found is None:
        raise UsageError(f"{cluster.name} has no deployed Kubernetes: run 'ai-how cloud deploy CONFIG' first")
    return found


def deployed(cluster: Cluster) -> bool:
    return cluster.kube is not None and cluster.is_deployed
