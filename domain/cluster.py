"""The Cluster aggregate: an HPC or Cloud cluster, its network and its member VMs."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import InvalidTransition
from .ids import cluster_id
from .specs import ClusterPlan


class ClusterStatus(StrEnum):
    PROVISIONED = "provisioned"
    RUNNING = "running"
    STOPPED = "stopped"
    DESTROYED = "destroyed"


class ClusterKind(StrEnum):
    HPC = "hpc"
    CLOUD = "cloud"


class Cluster(Aggregate):
    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        return cluster_id(name)

    @classmethod
    def provision(cls, plan: ClusterPlan) -> Cluster:
        return cls(
            name=plan.name,
            kind=plan.kind,
            config_digest=plan.config_digest,
            network=dict(plan.network),
            vms=[vm.name for vm in plan.vms],
        )

    @event("ClusterProvisioned")
    def __init__(
        self, name: str, kind: str, config_digest: str, network: dict[str, str], vms: list[str]
    ) -> None:
        self.name = name
        self.kind = ClusterKind(kind)
        self.config_digest = config_digest
        self.network = network
        self.vms = vms
        self.status = ClusterStatus.PROVISIONED

    def reprovision(self, plan: ClusterPlan) -> None:
        if self.status != ClusterStatus.DESTROYED:
            raise InvalidTransition(f"cluster {self.name} exists; destroy it before provisioning it again")
        self._reprovisioned(config_digest=plan.config_digest, network=dict(plan.network),
                            vms=[vm.name for vm in plan.vms])

    @event("ClusterReprovisioned")
    def _reprovisioned(self, config_digest: str, network: dict[str, str], vms: list[str]) -> None:
        self.config_digest = config_digest
        self.network = network
        self.vms = vms
        self.status = ClusterStatus.PROVISIONED

    def _check_alive(self, action: str) -> None:
        if self.status == ClusterStatus.DESTROYED:
            raise InvalidTransition(f"cannot {action} cluster {self.name}: it was destroyed")

    def mark_started(self) -> None:
        self._check_alive("start")
        if self.status != ClusterStatus.RUNNING:
            self._started()

    @event("ClusterStarted")
    def _started(self) -> None:
        self.status = ClusterStatus.RUNNING

    def mark_stopped(self) -> None:
        self._check_alive("stop")
        if self.status == ClusterStatus.RUNNING:
            self._stopped()

    @event("ClusterStopped")
    def _stopped(self) -> None:
        self.status = ClusterStatus.STOPPED

    def destroy(self) -> None:
        if self.status != ClusterStatus.DESTROYED:
            self._destroyed()

    @event("ClusterDestroyed")
    def _destroyed(self) -> None:
        self.status = ClusterStatus.DESTROYED
