"""The InferenceService aggregate: a model served by KServe on the Cloud cluster, keyed by
namespace/name. What was asked is recorded when it is applied (``InferenceServiceDeployed``);
what the cluster made of it is recorded as observed (``InferenceServiceReady``,
``InferenceServiceFailed``); ``InferenceServiceDeleted`` ends it, and a later deploy of the
same name starts it again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import InvalidTransition
from .ids import service_id


class ServiceState(StrEnum):
    DEPLOYED = "deployed"  # applied, not Ready yet
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"


class InferenceService(Aggregate):
    @staticmethod
    def create_id(namespace: str, name: str, **_: Any) -> UUID:
        return service_id(namespace, name)

    @event("InferenceServiceDeployed")
    def __init__(self, namespace: str, name: str, cluster: str, spec: dict[str, Any], manifest_digest: str) -> None:
        self.namespace = namespace
        self.name = name
        self._deployed_fields(cluster, spec, manifest_digest)

    def _deployed_fields(self, cluster: str, spec: dict[str, Any], manifest_digest: str) -> None:
        self.cluster = cluster
        self.spec = spec  # storage URI, format, resources, replicas, GPUs, MLflow model when resolved
        self.manifest_digest = manifest_digest
        self.state = ServiceState.DEPLOYED
        self.url: str | None = None
        self.reason: str | None = None
        self.nodes: list[str] = []

    def redeploy(self, cluster: str, spec: dict[str, Any], manifest_digest: str) -> None:
        self._redeployed(cluster=cluster, spec=spec, manifest_digest=manifest_digest)

    @event("InferenceServiceRedeployed")
    def _redeployed(self, cluster: str, spec: dict[str, Any], manifest_digest: str) -> None:
        self._deployed_fields(cluster, spec, manifest_digest)

    def observe_ready(self, url: str | None, nodes: list[str]) -> None:
        """Ready at ``url``, its replicas on ``nodes`` (the Cloud cluster's VMs)."""
        self._alive("record as ready")
        if self.state != ServiceState.READY or self.url != url or self.nodes != sorted(nodes):
            self._ready(url=url, nodes=sorted(nodes))

    @event("InferenceServiceReady")
    def _ready(self, url: str | None, nodes: list[str]) -> None:
        self.state = ServiceState.READY
        self.url = url
        self.nodes = nodes
        self.reason = None

    def observe_failed(self, reason: str) -> None:
        self._alive("record as failed")
        if self.state != ServiceState.FAILED or self.reason != reason:
            self._failed(reason=reason)

    @event("InferenceServiceFailed")
    def _failed(self, reason: str) -> None:
        self.state = ServiceState.FAILED
        self.reason = reason

    def delete(self) -> None:
        if self.state != ServiceState.DELETED:
            self._deleted()

    @event("InferenceServiceDeleted")
    def _deleted(self) -> None:
        self.state = ServiceState.DELETED
        self.url = None

    def _alive(self, action: str) -> None:
        if self.state == ServiceState.DELETED:
            raise InvalidTransition(f"cannot {action} inference service {self.namespace}/{self.name}: it was deleted")
