"""libvirt and qemu-img: a VM's disk chain, its external snapshots, and its guest agent's freeze."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TakenDisk:
    """``frozen``: the file that now holds the disk as it was (read-only from now on);
    ``top``: the new overlay the VM writes to."""

    frozen: str
    top: str


class DiskSnapshots(Protocol):
    """External disk-only snapshots of ai-how's VMs. Implemented by the libvirt adapter."""

    def freeze(self, vm: str) -> str | None:
        """Freeze a running guest's filesystems through its guest agent: None when frozen, else
        why not (no agent answering)."""

    def thaw(self, vm: str) -> None: ...

    def take(self, vm: str, snapshot: str) -> TakenDisk:
        """A running or shut-off VM's disk made read-only, a new overlay on it (``<vm>@<snapshot>``)."""

    def restore(self, vm: str, frozen: str, top: str) -> None:
        """A shut-off VM given a fresh overlay ``top`` on ``frozen``; done again, it changes nothing."""

    def merge(self, vm: str, frozen: str) -> str | None:
        """Fold the one layer written on ``frozen`` into it (a snapshot deleted): the path of the
        layer that is gone, None when ``frozen`` has no layer or several on it (then it stays)."""

    def remove_unused(self, vm: str, keep: set[str]) -> list[str]:
        """Delete the VM's snapshot layers that neither its disk nor a file in ``keep`` rests on."""

    def size(self, paths: list[str]) -> int:
        """Bytes the files take on the host's disk."""


class SnapshotIndex(Protocol):
    """Which snapshots exist, from the read side (each is then loaded from the store)."""

    def of(self, cluster: str) -> list[str]:
        """The names of the cluster's snapshots that are not deleted, oldest first."""

    def clusters_with(self, name: str) -> list[str]:
        """The clusters that have a snapshot of this name."""

    def restoring(self) -> list[tuple[str, str]]:
        """(cluster, name) of each snapshot whose restore has started and not finished."""
