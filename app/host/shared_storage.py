"""An HPC cluster's shared storage on this host: where it is, what it holds, what is free."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import Hypervisor

from .checks import Check

LOW_FREE_BYTES = 10 * 2**30  # below this, jobs writing checkpoints fill the disk soon


@dataclass(frozen=True)
class SharedStorage:
    cluster: str
    backend: str
    mount_point: str
    host_path: str
    used_bytes: int | None  # None: the folder is not there (yet)
    free_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "backend": self.backend, "mount_point": self.mount_point,
                "host_path": self.host_path, "used_bytes": self.used_bytes, "free_bytes": self.free_bytes}


def _existing(path: str) -> str:
    """The folder itself or its nearest existing parent: where its free space is measured."""
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def used_bytes(path: str) -> int:
    """What the folder's files take on disk, as ``du`` counts it (links not followed)."""
    total, folders = 0, [path]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                stat = entry.stat(follow_symlinks=False)
                total += stat.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
    return total


def shared_storage_of(topology: Any, hypervisor: Hypervisor, cluster: str) -> SharedStorage | None:
    """The recorded HPC cluster's shared storage, measured now; None when it has none."""
    controller = topology.vm(f"{cluster}-controller")
    shared = next((d for d in controller.spec.shared_directories if d.cluster_storage), None) if controller else None
    if shared is None:
        return None
    path = hypervisor.shared_storage(cluster, shared.host_path)
    used = used_bytes(path) if os.path.isdir(path) else None
    return SharedStorage(cluster, "virtiofs", shared.mount_point, path, used, shutil.disk_usage(_existing(path)).free)


def space_checks(paths: dict[str, str]) -> list[Check]:
    """Free space where each cluster's shared storage is (or will be made)."""
    checks = []
    for cluster, path in sorted(paths.items()):
        free = shutil.disk_usage(_existing(path)).free
        where = f"{path} ({cluster}'s shared storage)"
        if free < LOW_FREE_BYTES:
            checks.append(Check("warn", "shared storage", f"{free / 2**30:.1f} GiB free at {where}",
                                "free space there, or give storage.shared.host_path a larger disk"))
        else:
            checks.append(Check("pass", "shared storage", f"{free / 2**30:.0f} GiB free at {where}"))
    return checks


def purge_shared(path: str) -> None:
    """Delete a shared storage folder and everything in it (the caller has asked)."""
    if len(os.path.abspath(path).strip("/").split("/")) < 2:
        raise UsageError(f"{path} is too near the root to be deleted as a cluster's shared storage; delete it "
                         "yourself if you mean it")
    shutil.rmtree(path)


def host_path_of(found: SharedStorage, guest_path: str) -> str:
    """The host file of ``guest_path``, a path on the shared storage as the nodes see it;
    refused outside it (``..`` included)."""
    mount = found.mount_point.rstrip("/") or "/"
    wanted = os.path.normpath(guest_path)
    if not guest_path.startswith("/") or (wanted != mount and not wanted.startswith(mount + "/")):
        raise UsageError(f"hpc:{guest_path} is outside the shared storage of {found.cluster} ({mount}): give a "
                         f"path under it, e.g. hpc:{mount}/<user>/model")
    return os.path.join(found.host_path, os.path.relpath(wanted, mount))
