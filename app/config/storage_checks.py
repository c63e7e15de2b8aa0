"""Checks of the folders a config shares into guests: per-VM ``virtio_fs_mounts`` and the HPC
cluster's shared storage (``storage.shared``)."""

from __future__ import annotations

import os

from .findings import Finding
from .models import HpcCluster
from .plan import PlannedCluster


def check_shared_directories(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    """virtio_fs_mounts: an existing host directory, a tag unique in its VM, an absolute mount point."""
    for cluster in clusters:
        for vm in cluster.vms:
            tags: dict[str, int] = {}
            for i, mount in enumerate(vm.config.virtio_fs_mounts):
                path = f"{vm.path}.virtio_fs_mounts[{i}]"
                if not os.path.isdir(mount.host_path):
                    what = "is not a directory" if os.path.exists(mount.host_path) else "does not exist"
                    out.append(Finding("error", f"{path}.host_path",
                                       f"{mount.host_path} {what} on this host; create it or fix the path"))
                if not mount.mount_point.startswith("/"):
                    out.append(Finding("error", f"{path}.mount_point",
                                       f"{mount.mount_point!r} must be an absolute path in the guest, like /data"))
                if mount.tag in tags:
                    out.append(Finding("error", f"{path}.tag", f"tag {mount.tag!r} is already used by "
                                       f"{vm.path}.virtio_fs_mounts[{tags[mount.tag]}]; each mount of a VM needs "
                                       "its own tag"))
                tags.setdefault(mount.tag, i)
            if vm.config.virtio_fs_mounts and not vm.plan.spec.has_os and not vm.plan.spec.base_image:
                out.append(Finding("warning", f"{vm.path}.virtio_fs_mounts",
                                   f"{vm.name} has no base image, so nothing in it will mount these directories"))


def check_shared_storage(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    """``storage.shared``: an absolute mount point no ``virtio_fs_mounts`` uses, and a host
    folder that is a folder ai-how can write (or one it can make)."""
    for cluster in clusters:
        if not isinstance(cluster.section, HpcCluster) or not cluster.section.storage.shared.enabled:
            continue
        shared, path = cluster.section.storage.shared, f"{cluster.path}.storage.shared"
        if not shared.mount_point.startswith("/") or shared.mount_point.rstrip("/") == "":
            out.append(Finding("error", f"{path}.mount_point", f"{shared.mount_point!r} must be an absolute path "
                               "in the guest other than /, like /shared"))
        for vm in cluster.vms:
            for i, mount in enumerate(vm.config.virtio_fs_mounts):
                if mount.mount_point.rstrip("/") == shared.mount_point.rstrip("/"):
                    out.append(Finding("error", f"{vm.path}.virtio_fs_mounts[{i}].mount_point",
                                       f"{mount.mount_point} is where the cluster's shared storage is mounted "
                                       f"({path}.mount_point): choose another mount point"))
        if shared.backend == "nfs":
            _check_nfs(cluster, path, out)
            continue
        host = shared.host_path
        if host is None:
            continue
        if not os.path.isabs(host):
            out.append(Finding("error", f"{path}.host_path", f"{host!r} must be an absolute folder on this host"))
        elif os.path.exists(host) and not os.path.isdir(host):
            out.append(Finding("error", f"{path}.host_path", f"{host} is a file, not a folder: give a folder (it "
                               "is made if it does not exist)"))
        elif os.path.isdir(host) and not os.access(host, os.W_OK):
            out.append(Finding("error", f"{path}.host_path", f"{host} is not writable by this user: the VMs' "
                               "jobs write there; fix its permissions or choose another folder"))


def _check_nfs(cluster: PlannedCluster, path: str, out: list[Finding]) -> None:
    """The computes mount the controller's export by its address; nothing of it is on the host."""
    section = cluster.section
    assert isinstance(section, HpcCluster)
    if section.storage.shared.host_path is not None:
        out.append(Finding("error", f"{path}.host_path", "host_path is for backend virtiofs; with nfs the folder is on "
                           "the controller's disk: remove host_path, or choose backend virtiofs"))
    if section.controller.ip is None:
        out.append(Finding("error", f"{cluster.path}.controller.ip", "the NFS shared storage is mounted from the "
                           "controller's address: give the controller an ip"))
