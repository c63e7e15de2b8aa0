"""The Snapshot aggregate: a cluster's disks at one point in time, one per cluster and name.

Each VM's disk is a qcow2 chain. Taking a snapshot makes the file the VM wrote to until then
read-only (its ``frozen`` file) and gives the VM a new overlay on it (its ``top``); restoring
gives each VM a fresh overlay on the frozen file again. A snapshot never holds memory: a VM
with a passed-through GPU cannot save it, and the disks are what users' work lives on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import SnapshotRefused
from .ids import snapshot_id


class Consistency(StrEnum):
    FROZEN = "frozen"  # running guests' filesystems frozen together by their guest agents
    STOPPED = "stopped"  # every VM was shut off
    CRASH = "crash-consistent"  # taken without freezing, as asked (--crash-consistent)


class Snapshot(Aggregate):
    """``disks``: VM name -> {frozen, top, state ('running'|'stopped'), gpu, image_sha256}."""

    class SnapshotRestoreStarted(Aggregate.Event):
        running: list[str]
        tops: dict[str, str]

    @staticmethod
    def create_id(cluster: str, name: str, **_: Any) -> UUID:
        return snapshot_id(cluster, name)

    @event("SnapshotTaken")
    def __init__(self, cluster: str, name: str, disks: dict[str, dict[str, Any]], consistency: str,
                 config_digest: str, deployment: dict[str, Any] | None, kubernetes: dict[str, Any] | None,
                 log_position: int, size_bytes: int, reason: str) -> None:
        self._taken(cluster, name, disks, consistency, config_digest, deployment, kubernetes, log_position,
                    size_bytes, reason)

    def _taken(self, cluster: str, name: str, disks: dict[str, dict[str, Any]], consistency: str,
               config_digest: str, deployment: dict[str, Any] | None, kubernetes: dict[str, Any] | None,
               log_position: int, size_bytes: int, reason: str) -> None:
        self.cluster = cluster
        self.name = name
        self.disks = disks
        self.consistency = Consistency(consistency)
        self.config_digest = config_digest
        self.deployment = deployment
        self.kubernetes = kubernetes
        self.log_position = log_position
        self.size_bytes = size_bytes
        self.reason = reason
        self.deleted = False
        self.restoring: dict[str, Any] | None = None
        self.restores = 0

    def take_again(self, **taken: Any) -> None:
        """A name whose snapshot was deleted is used again."""
        if not self.deleted:
            raise SnapshotRefused(f"cluster {self.cluster} already has a snapshot named {self.name}")
        self._retaken(**taken)

    @event("SnapshotRetaken")
    def _retaken(self, cluster: str, name: str, disks: dict[str, dict[str, Any]], consistency: str,
                 config_digest: str, deployment: dict[str, Any] | None, kubernetes: dict[str, Any] | None,
                 log_position: int, size_bytes: int, reason: str) -> None:
        self._taken(cluster, name, disks, consistency, config_digest, deployment, kubernetes, log_position,
                    size_bytes, reason)

    def _check_alive(self, action: str) -> None:
        if self.deleted:
            raise SnapshotRefused(f"cannot {action} snapshot {self.name} of cluster {self.cluster}: it was deleted")

    def start_restore(self, running: list[str], tops: dict[str, str]) -> None:
        """``running``: the VMs to start again afterwards; ``tops``: each VM's new overlay."""
        self._check_alive("restore")
        if self.restoring is not None:
            raise SnapshotRefused(f"a restore of snapshot {self.name} is under way; 'ai-how reconcile' settles it")
        self._restore_started(running=list(running), tops=dict(tops))

    @event(SnapshotRestoreStarted)
    def _restore_started(self, running: list[str], tops: dict[str, str]) -> None:
        self.restoring = {"running": running, "tops": tops}

    def finish_restore(self) -> None:
        if self.restoring is not None:
            self._restored(tops=self.restoring["tops"])

    @event("SnapshotRestored")
    def _restored(self, tops: dict[str, str]) -> None:
        self.restoring = None
        self.restores += 1

    def move_layer(self, vm: str, frozen: str) -> None:
        """Deleting an older snapshot merged this one's frozen layer into that one's file."""
        if self.disks[vm]["frozen"] != frozen:
            self._layer_merged(vm=vm, frozen=frozen)

    @event("SnapshotLayerMerged")
    def _layer_merged(self, vm: str, frozen: str) -> None:
        self.disks = {**self.disks, vm: {**self.disks[vm], "frozen": frozen}}

    def delete(self, reason: str) -> None:
        self._check_alive("delete")
        if self.restoring is not None:
            raise SnapshotRefused(f"a restore of snapshot {self.name} is under way; 'ai-how reconcile' settles it")
        self._deleted(reason=reason)

    @event("SnapshotDeleted")
    def _deleted(self, reason: str) -> None:
        self.deleted = True
