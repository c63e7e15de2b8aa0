"""A VM's OS disk as a chain of qcow2 files: which file the domain writes to, what each file
rests on, and pointing a shut-off domain at another file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..host_tools import require, run
from .connection import libvirt_errors, libvirt_module
from .storage import image_info


def os_disk(dom: Any, inactive: bool = False) -> tuple[str, str, list[str]]:
    """(target device, the file the domain writes to, every other disk's target device)."""
    lv = libvirt_module()
    root = ET.fromstring(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE if inactive else 0))
    found: tuple[str, str] | None = None
    others: list[str] = []
    for disk in root.findall("devices/disk"):
        source, target = disk.find("source"), disk.find("target")
        dev = target.get("dev", "") if target is not None else ""
        if found is None and disk.get("device", "disk") == "disk" and source is not None and source.get("file"):
            found = (dev, source.get("file", ""))
        else:
            others.append(dev)
    if found is None:
        raise LookupError(f"domain {dom.name()} has no disk file")
    return found[0], found[1], others


def disk_file(dom: Any) -> str | None:
    """The file a defined domain's OS disk is, in its persistent definition (after a snapshot
    or a restore, not the volume it was made with)."""
    try:
        return os_disk(dom, inactive=True)[1]
    except LookupError:
        return None


def backing_of(path: str) -> str | None:
    info = image_info(path)
    backing = info.get("full-backing-filename") or info.get("backing-filename")
    if backing and not Path(backing).is_absolute():
        backing = str(Path(path).parent / backing)
    return str(backing) if backing else None


def chain_of(path: str) -> list[str]:
    """``path`` and every file under it, top first."""
    chain = [path]
    while (below := backing_of(chain[-1])) is not None and below not in chain:
        chain.append(below)
    return chain


def point_at(conn: Any, dom: Any, path: str) -> None:
    """Define the shut-off domain again with its OS disk on ``path`` (libvirt reads the chain anew)."""
    lv = libvirt_module()
    root = ET.fromstring(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE | lv.VIR_DOMAIN_XML_SECURE))
    for disk in root.findall("devices/disk"):
        source = disk.find("source")
        if disk.get("device", "disk") == "disk" and source is not None and source.get("file"):
            source.set("file", path)
            for stale in disk.findall("backingStore"):
                disk.remove(stale)
            break
    with libvirt_errors(f"cannot point {dom.name()} at {path}"):
        conn.defineXML(ET.tostring(root, encoding="unicode"))


def overlay(frozen: str, top: str) -> None:
    """A new qcow2 file ``top`` over ``frozen``, the same size the guest sees."""
    require(["qemu-img"], "a disk restored to a snapshot")
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", image_info(frozen)["format"], "-b", frozen, top],
        f"making {top} on {frozen}", timeout_s=60)


def commit(child: str, frozen: str) -> None:
    """Fold ``child`` into ``frozen`` (its backing file), offline."""
    require(["qemu-img"], "a snapshot deleted")
    run(["qemu-img", "commit", "-q", "-b", frozen, child], f"merging {child} into {frozen}", timeout_s=3600)


def rebase(path: str, backing: str) -> None:
    """``path`` rests on ``backing`` from now on; their content is already the same (unsafe mode)."""
    run(["qemu-img", "rebase", "-u", "-F", image_info(backing)["format"], "-b", backing, path],
        f"resting {path} on {backing}", timeout_s=60)
