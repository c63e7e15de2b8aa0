"""Keys the predecessor's configs carry that ai-how accepts but does not act on (yet): one
warning each, saying what ai-how does instead. A key at its default says nothing."""

from __future__ import annotations

from .findings import Finding
from .models import HpcCluster
from .plan import PlannedCluster

NOT_YET = "accepted, not acted on"


def check_accepted_keys(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    for cluster in clusters:
        _acceleration(cluster, out)
        _mounts(cluster, out)
        if isinstance(cluster.section, HpcCluster):
            _storage(cluster, cluster.section, out)


def _acceleration(cluster: PlannedCluster, out: list[Finding]) -> None:
    wanted = cluster.section.hardware.acceleration if cluster.section.hardware is not None else None
    if wanted is None:
        return
    path, perf = f"{cluster.path}.hardware.acceleration", wanted.performance
    said = [
        (perf.memory_backing == "memfd", "performance.memory_backing",
         "memfd backs only the VMs that share folders by virtiofs or use hugepages"),
    ]
    out += [Finding("warning", f"{path}.{key}", f"{NOT_YET}: {instead}") for wanted_it, key, instead in said if wanted_it]


def _mounts(cluster: PlannedCluster, out: list[Finding]) -> None:
    for vm in cluster.vms:
        for i, mount in enumerate(vm.config.virtio_fs_mounts):
            keys = [k for k in ("owner", "group", "mode") if getattr(mount, k) is not None]
            if keys and mount.readonly:
                out.append(Finding("warning", f"{vm.path}.virtio_fs_mounts[{i}]",
                                   f"{', '.join(keys)} not acted on: a read-only mount keeps the host folder's own "
                                   "owner and mode"))


def _storage(cluster: PlannedCluster, section: HpcCluster, out: list[Finding]) -> None:
    storage, path = section.storage, f"{cluster.path}.storage"
    beegfs = storage.beegfs
    if beegfs is not None and beegfs.enabled:
        if not storage.shared_from_beegfs:
            instead = f"storage.shared is the cluster's shared storage, at {storage.shared.mount_point}"
        else:
            instead = (f"its mount_point {beegfs.mount_point} is the cluster's shared storage (storage.shared, "
                       f"backend {storage.shared.backend}) on every node")
        out.append(Finding("warning", f"{path}.beegfs", f"BeeGFS is not in Debian: {instead}"))
    if storage.virtio_fs is not None and not storage.virtio_fs.enabled:
        out.append(Finding("warning", f"{path}.virtio_fs.enabled",
                           f"{NOT_YET}: each VM's virtio_fs_mounts are shared as written"))
