"""The host folders of HPC clusters' shared storage (virtiofs), made by a cluster's start."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from ai_how.domain.specs import ClusterPlan

from .connection import HypervisorError

MIN_SHARED_FREE = 256 * 2**20  # below this, the first job's output or checkpoint fails: refuse the start


def _existing(path: str) -> str:
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def ensure_shared_folders(plan: ClusterPlan, folder_of: Callable[[str, str], str]) -> list[str]:
    """The host folders of the cluster's shared storage, made when absent (never emptied);
    ``folder_of(cluster, host_path)`` is where each is. What was made."""
    made = []
    for path in sorted({folder_of(plan.name, d.host_path) for vm in plan.vms
                        for d in vm.spec.shared_directories if d.cluster_storage and d.from_host}):
        free = shutil.disk_usage(_existing(path)).free
        if free < MIN_SHARED_FREE:
            raise HypervisorError(f"the disk of {plan.name}'s shared storage ({path}) is full: {free // 2**20} MiB "
                                  "free; free space there, or give storage.shared.host_path another disk")
        if os.path.isdir(path):
            continue
        if os.path.exists(path):
            raise HypervisorError(f"the shared storage of {plan.name} would be {path}, which is a file; move it "
                                  "aside or give storage.shared.host_path another folder")
        try:
            os.makedirs(path, mode=0o755)
        except OSError as exc:
            raise HypervisorError(f"cannot make the shared storage of {plan.name} at {path}: "
                                  f"{exc.strerror}") from None
        made.append(f"shared storage {path}")
    return made
