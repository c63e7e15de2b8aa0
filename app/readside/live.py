"""What a cluster's own scheduler says of its nodes, beside what the log says of its VMs:
SLURM's node states (sinfo on the controller) or the Kubernetes API's nodes. Asked, never
recorded; when it cannot be asked, why not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import KubernetesApi, NodeState, SlurmAt

from .projection import Topology
from .queries import ClusterView


@dataclass(frozen=True)
class NodesView:
    """Each VM's node state in one word or a few (None: not asked), the API's nodes for a
    Cloud cluster, and why they could not be had."""

    states: dict[str, str] | None = None
    nodes: list[NodeState] | None = None
    why: str | None = None

    def as_dict(self, kind: str) -> dict[str, Any]:
        if kind == "hpc":
            return {"slurm": self.states, "slurm_error": self.why}
        nodes = None if self.nodes is None else [
            {"name": n.name, "ready": n.ready, "unschedulable": n.unschedulable, "gpus": n.gpus, "labels": n.labels,
             "taints": list(n.taints)} for n in self.nodes]
        return {"nodes": nodes, "nodes_error": self.why}


def slurm_nodes(topology: Topology, view: ClusterView, slurm_at: SlurmAt) -> NodesView:
    if not view.deployment:
        return NodesView()
    controller = next((vm for vm in view.vms if vm.role == "controller"), None)
    if controller is None or controller.state != "running" or not controller.ip:
        return NodesView(why="the controller is not running")
    recorded = topology.vm(controller.name)
    try:
        return NodesView(states=slurm_at(recorded.spec.login if recorded else "", controller.ip).node_states())
    except InfrastructureError as exc:
        return NodesView(why=str(exc))


def kubernetes_nodes(view: ClusterView, kubernetes: KubernetesApi) -> NodesView:
    if view.kubernetes is None:
        return NodesView()
    try:
        nodes = kubernetes.nodes(Path(view.kubernetes.kubeconfig))
    except InfrastructureError as exc:
        return NodesView(why=str(exc))
    states = {n.name: ("Ready" if n.ready else "NotReady") + (",cordoned" if n.unschedulable else "")
              + (f" gpu={n.gpus}" if n.gpus else "") for n in nodes}
    return NodesView(states=states, nodes=nodes)
