"""One directory pool per cluster; each VM disk a qcow2 overlay on its base image."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from ai_how.domain.specs import VmPlan

from ..host_tools import require, run
from .connection import find, libvirt_errors, libvirt_module
from .xml import pool_name, render_pool, render_volume, volume_name


@functools.lru_cache(maxsize=64)
def _image_info(path: str, mtime_ns: int) -> dict[str, Any]:
    require(["qemu-img"], "a VM disk on a base image")
    return json.loads(run(["qemu-img", "info", "--output=json", "--force-share", path], f"reading the image {path}",
                          timeout_s=60))


def image_info(path: str) -> dict[str, Any]:
    """What ``qemu-img info`` says of an image (asked again when the file changes)."""
    return _image_info(path, Path(path).stat().st_mtime_ns)


def image_format(path: str) -> str:
    return str(image_info(path)["format"])


def virtual_size(path: str) -> int:
    """The disk size a guest sees on this image."""
    return int(image_info(path)["virtual-size"])


def lookup_pool(conn: Any, cluster: str) -> Any | None:
    return find(conn.storagePoolLookupByName, pool_name(cluster), "VIR_ERR_NO_STORAGE_POOL")


def ensure_pool(conn: Any, cluster: str, root: Path) -> Any:
    name = pool_name(cluster)
    path = root / cluster
    with libvirt_errors(f"cannot set up storage pool {name} in {path}"):
        pool = lookup_pool(conn, cluster)
        if pool is None:
            pool = conn.storagePoolDefineXML(render_pool(name, str(path)))
            pool.build(0)
            pool.setAutostart(True)
        if not pool.isActive():
            pool.create()
        return pool


def lookup_volume(pool: Any, vm: str) -> Any | None:
    return find(pool.storageVolLookupByName, volume_name(vm), "VIR_ERR_NO_STORAGE_VOL")


def volume_at(pool: Any, path: str) -> Any | None:
    """The pool's volume at ``path`` (a snapshot's overlay is one once the pool is read again)."""
    with libvirt_errors(f"cannot read the storage pool of {path}"):
        pool.refresh(0)
        return next((v for v in pool.listAllVolumes(0) if v.path() == path), None)


def ensure_disk(pool: Any, vm: VmPlan) -> tuple[str, bool]:
    """The VM's disk path, and whether it was created now."""
    with libvirt_errors(f"cannot create the disk of {vm.name}"):
        volume = lookup_volume(pool, vm.name)
        if volume is not None:
            return volume.path(), False
        base = vm.spec.base_image_path
        xml = render_volume(volume_name(vm.name), vm.spec.disk_gb, base, image_format(base) if base else None)
        return pool.createXML(xml, 0).path(), True


def remove_volume(conn: Any, cluster: str, vm: str) -> bool:
    with libvirt_errors(f"cannot delete the disk of {vm}"):
        pool = lookup_pool(conn, cluster)
        volume = lookup_volume(pool, vm) if pool is not None and pool.isActive() else None
        if volume is None:
            return False
        volume.delete(0)
        return True


def remove_pool(conn: Any, cluster: str) -> tuple[list[str], bool]:
    """Delete every volume of the cluster's pool, then the pool. Returns (volumes, pool removed)."""
    lv = libvirt_module()
    with libvirt_errors(f"cannot remove storage pool {pool_name(cluster)}"):
        pool = lookup_pool(conn, cluster)
        if pool is None:
            return [], False
        if not pool.isActive():
            pool.create()
        pool.refresh(0)
        volumes = []
        for volume in pool.listAllVolumes(0):
            volumes.append(volume.name())
            volume.delete(0)
        pool.destroy()
        try:
            pool.delete(lv.VIR_STORAGE_POOL_DELETE_NORMAL)
        except lv.libvirtError:
            pass  # the directory is not empty: files we did not make stay where they are
        pool.undefine()
        return volumes, True
