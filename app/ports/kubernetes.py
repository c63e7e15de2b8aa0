"""A Kubernetes cluster's API server: nodes, drains, labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)


class NodeState:
    """A Kubernetes node as the API server reports it."""

    name: str
    ready: bool
    unschedulable: bool = False
    gpus: int = 0  # allocatable nvidia.com/gpu
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()  # key=value:Effect


class KubernetesApi(Protocol):
    """The cluster's API server, reached with the admin kubeconfig (the kubernetes client)."""

    def nodes(self, kubeconfig: Path) -> list[NodeState]: ...

    def label_and_taint(self, kubeconfig: Path, node: str, labels: dict[str, str], taints: list[str]) -> None:
        """Set these labels (others stay) and exactly these taints (besides Kubernetes' own)."""

    def cordon(self, kubeconfig: Path, node: str, unschedulable: bool = True) -> None: ...

    def evict(self, kubeconfig: Path, node: str) -> list[str]:
        """Ask every pod on the node to leave (DaemonSets' and static pods stay); the
        ``namespace/name`` of those still there."""

    def pods_on(self, kubeconfig: Path, node: str) -> list[str]:
        """``namespace/name`` of the pods a drain moves (not DaemonSets', not static ones)."""
