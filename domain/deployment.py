"""A cluster's deployment state as typed values: one run of a deploy playbook, and the
Kubernetes a Cloud cluster runs.

The aggregate keeps these records as the JSON-shaped mappings its events and stored
snapshots hold (a snapshot is the aggregate's attributes; typed attributes would need a
transcoding and an upcaster for every snapshot already stored). Everything that reads them
reads these values, made by ``of``; ``as_dict`` gives the record back as it is shown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DeploymentStatus(StrEnum):
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"


@dataclass(frozen=True)
class RunFailure:
    host: str
    task: str
    message: str


# Keys a record has only sometimes: when it is from the views (times), finished (seconds,
# hosts), failed (host, task, message), a check (check), or Kubespray's (the last four).
_SOMETIMES = ("check", "started_at", "ended_at", "seconds", "hosts", "kubespray", "kube_version", "addons", "layout")


@dataclass(frozen=True)
class DeployRun:
    """One run of a deploy playbook (or a ``--check`` of it), as recorded."""

    run_id: str
    status: DeploymentStatus
    playbook: str
    playbook_digest: str
    config_digest: str
    limit: str | None = None
    check: bool | None = None  # None in the views, which keep a check apart
    started_at: str | None = None
    ended_at: str | None = None
    seconds: float | None = None
    hosts: Mapping[str, Mapping[str, int]] | None = None  # per host: ok, changed, failed, ...
    failure: RunFailure | None = None
    kubespray: str | None = None
    kube_version: str | None = None
    addons: tuple[str, ...] | None = None
    layout: Mapping[str, Any] | None = None  # what was deployed, for a later join or drain

    @classmethod
    def of(cls, record: Mapping[str, Any] | None) -> DeployRun | None:
        if record is None:
            return None
        failure = RunFailure(record["host"], record["task"], record["message"]) if "message" in record else None
        addons = record.get("addons")
        return cls(record["run_id"], DeploymentStatus(record["status"]), record.get("playbook", ""),
                   record.get("playbook_digest", ""), record.get("config_digest", ""), record.get("limit"),
                   record.get("check"), record.get("started_at"), record.get("ended_at"), record.get("seconds"),
                   record.get("hosts"), failure, record.get("kubespray"), record.get("kube_version"),
                   tuple(addons) if addons is not None else None, record.get("layout"))

    @property
    def running(self) -> bool:
        return self.status == DeploymentStatus.DEPLOYING

    @property
    def changed(self) -> int:
        """Changes made (or, for a check, that would be made) on all hosts."""
        return sum(tally.get("changed", 0) for tally in (self.hosts or {}).values())

    def as_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {"run_id": self.run_id, "status": self.status.value, "playbook": self.playbook,
                                  "playbook_digest": self.playbook_digest, "config_digest": self.config_digest,
                                  "limit": self.limit}
        for key in _SOMETIMES:
            value = getattr(self, key)
            if value is not None:
                record[key] = list(value) if key == "addons" else value
        if self.failure is not None:
            record.update(host=self.failure.host, task=self.failure.task, message=self.failure.message)
        return record


@dataclass(frozen=True)
class KubernetesState:
    """The Kubernetes a Cloud cluster runs: its version, nodes, kubeconfig (a path, never the
    file), the layout it was deployed with, and the nodes ai-how drained."""

    version: str
    nodes: tuple[str, ...]
    kubeconfig: str
    drained: tuple[str, ...] = ()
    layout: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, record: Mapping[str, Any] | None) -> KubernetesState | None:
        if record is None:
            return None
        return cls(record["version"], tuple(record.get("nodes", ())), record["kubeconfig"],
                   tuple(record.get("drained", ())), record.get("layout") or {})

    @property
    def settings(self) -> Mapping[str, Any]:
        """The Kubernetes settings it was deployed with (kubernetes_settings of the config)."""
        settings: Mapping[str, Any] = self.layout.get("settings", {})
        return settings

    @property
    def drain_timeout_s(self) -> float:
        return float(self.settings.get("drain_timeout_s", 120))

    @property
    def auto_join(self) -> bool:
        return bool(self.settings.get("auto_join", True))

    def as_dict(self) -> dict[str, Any]:
        """As shown: without the layout, which is ai-how's own."""
        return {"version": self.version, "nodes": list(self.nodes), "kubeconfig": self.kubeconfig,
                "drained": list(self.drained)}
