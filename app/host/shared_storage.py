"""An HPC cluster's shared storage on this host: where it is, what it holds, what is free."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import GuestAccess, Hypervisor

from .checks import Check

LOW_FREE_BYTES = 10 * 2**30  # below this, jobs writing checkpoints fill the disk soon


@dataclass(frozen=True)
class SharedStorage:
    """Measured now. virtiofs: the host folder. nfs: the controller's disk, over SSH
    (``used_bytes``/``free_bytes`` None when the controller does not answer; ``files``: does it
    hold any file)."""

    cluster: str
    backend: str
    mount_point: str
    host_path: str | None  # None for nfs: the data is on the controller's disk
    used_bytes: int | None  # None: the folder is not there (yet), or could not be measured
    free_bytes: int | None
    controller: str | None = None  # nfs: the VM that exports it
    files: bool | None = None  # nfs: whether it holds any file (None: not known)

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "backend": self.backend, "mount_point": self.mount_point,
                "host_path": self.host_path, "used_bytes": self.used_bytes, "free_bytes": self.free_bytes,
                **({"controller": self.controller} if self.controller else {})}


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


def shared_storage_of(topology: Any, hypervisor: Hypervisor, cluster: str,
                      guests: GuestAccess | None = None) -> SharedStorage | None:
    """The recorded HPC cluster's shared storage, measured now; None when it has none. NFS
    storage is measured on the controller through ``guests`` (not measured without)."""
    controller = topology.vm(f"{cluster}-controller")
    shared = next((d for d in controller.spec.shared_directories if d.cluster_storage), None) if controller else None
    if shared is None:
        return None
    if not shared.from_host:
        return _on_controller(controller, shared.mount_point, guests)
    path = hypervisor.shared_storage(cluster, shared.host_path)
    used = used_bytes(path) if os.path.isdir(path) else None
    return SharedStorage(cluster, "virtiofs", shared.mount_point, path, used, shutil.disk_usage(_existing(path)).free)


def measure_command(mount: str) -> list[str]:
    """On the NFS controller: bytes its files take, bytes free, and 1 if it holds any file (else 0)."""
    return ["sudo", "sh", "-c", f"du -s -B1 {mount} | cut -f1 && df -B1 --output=avail {mount} | tail -n 1 && "
                                f"find {mount} -type f | head -n 1 | wc -l"]


def _on_controller(controller: Any, mount: str, guests: GuestAccess | None) -> SharedStorage:
    """NFS: what the exported folder takes and holds, and what is free, on the controller."""
    found = SharedStorage(controller.cluster, "nfs", mount, None, None, None, controller.name)
    if guests is None or controller.state != "running" or not controller.spec.ip:
        return found
    code, out, _ = guests.run(controller.spec.login, controller.spec.ip, measure_command(mount), timeout_s=60)
    numbers = out.split()
    if code != 0 or len(numbers) != 3 or not all(n.isdigit() for n in numbers):
        return found
    return SharedStorage(controller.cluster, "nfs", mount, None, int(numbers[0]), int(numbers[1]), controller.name,
                         numbers[2] != "0")


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


def guest_folder(found: SharedStorage, guest_path: str) -> str:
    """``guest_path``, a path on the shared storage as the nodes see it, normalized; refused
    outside it (``..`` included)."""
    mount = found.mount_point.rstrip("/") or "/"
    wanted = os.path.normpath(guest_path)
    if not guest_path.startswith("/") or (wanted != mount and not wanted.startswith(mount + "/")):
        raise UsageError(f"hpc:{guest_path} is outside the shared storage of {found.cluster} ({mount}): give a "
                         f"path under it, e.g. hpc:{mount}/<user>/model")
    return wanted


def host_path_of(found: SharedStorage, guest_path: str) -> str:
    """The host file of ``guest_path`` on virtiofs storage (see ``guest_folder``)."""
    assert found.host_path is not None
    wanted = guest_folder(found, guest_path)
    return os.path.join(found.host_path, os.path.relpath(wanted, found.mount_point.rstrip("/") or "/"))


@contextmanager
def readable_copy(found: SharedStorage, topology: Any, guests: GuestAccess, guest_path: str) -> Iterator[str]:
    """The folder on this host to read ``guest_path`` from: the host's own folder (virtiofs),
    or a copy fetched over SSH from the controller that exports it (nfs), removed afterwards."""
    if found.host_path is not None:
        yield host_path_of(found, guest_path)
        return
    wanted = guest_folder(found, guest_path)
    vm = topology.vm(found.controller)
    if vm is None or vm.state != "running" or not vm.spec.ip:
        state = vm.state if vm is not None else "not recorded"
        raise UsageError(f"hpc:{guest_path} is on {found.controller}'s disk (NFS) and {found.controller} is {state}: "
                         f"start it with 'ai-how vm start {found.controller}'")
    with tempfile.TemporaryDirectory(prefix="ai-how-nfs-") as copy:
        guests.fetch(vm.spec.login, vm.spec.ip, wanted, Path(copy))
        yield copy
