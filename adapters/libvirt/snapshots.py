"""The ``DiskSnapshots`` port on libvirt: external disk-only snapshots (never memory: a VM with
a passed-through GPU cannot save it), the guest agent's freeze, and layers folded back with
block commit while the VM runs or ``qemu-img`` while it is off.

libvirt keeps no snapshot metadata of ours (``NO_METADATA``): the event store is the record,
and a domain with none is undefined as any other.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ai_how.app.ports import DiskSnapshots, DomainState, TakenDisk
from ai_how.app.waiting import poll

from . import domains
from .connection import HypervisorError, connect, libvirt_errors, libvirt_module
from .disk_chain import backing_of, chain_of, commit, disk_file, os_disk, overlay, point_at, rebase

BLOCK_JOB_WAIT_S = 3600.0


def layer_name(vm: str, snapshot: str) -> str:
    """The overlay a VM writes to after ``snapshot`` (a restore's own are named by the capability)."""
    return f"{vm}@{snapshot}.qcow2"


def snapshot_xml(name: str, target: str, top: str, others: list[str]) -> str:
    skipped = "".join(f"<disk name='{dev}' snapshot='no'/>" for dev in others if dev)
    return (f"<domainsnapshot><name>{name}</name><description>ai-how</description><disks>"
            f"<disk name='{target}' snapshot='external'><driver type='qcow2'/><source file='{top}'/></disk>"
            f"{skipped}</disks></domainsnapshot>")


class LibvirtSnapshots(DiskSnapshots):
    def __init__(self, uri: str) -> None:
        self.uri = uri

    @property
    def conn(self) -> Any:
        return connect(self.uri)

    def _dom(self, vm: str) -> Any:
        with libvirt_errors(f"cannot look up domain {vm}"):
            dom = domains.lookup(self.conn, vm)
        if dom is None:
            raise HypervisorError(f"{vm} has no domain on {self.uri}; 'ai-how reconcile' records what is there")
        return dom

    def _running(self, dom: Any) -> bool:
        return domains.state_of(dom) not in (DomainState.SHUTOFF, DomainState.CRASHED)

    def freeze(self, vm: str) -> str | None:
        lv = libvirt_module()
        try:
            self._dom(vm).fsFreeze(None, 0)
        except lv.libvirtError as exc:
            return str(exc.get_error_message())
        return None

    def thaw(self, vm: str) -> None:
        with libvirt_errors(f"cannot thaw the filesystems of {vm}"):
            self._dom(vm).fsThaw(None, 0)

    def take(self, vm: str, snapshot: str) -> TakenDisk:
        lv = libvirt_module()
        dom = self._dom(vm)
        running = self._running(dom)
        target, frozen, others = os_disk(dom, inactive=not running)
        top = str(Path(frozen).parent / layer_name(vm, snapshot))
        if os.path.exists(top):
            raise HypervisorError(f"{top} is already there: a snapshot layer ai-how has no record of; move it away")
        flags = lv.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | lv.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA
        if running:
            flags |= lv.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
        with libvirt_errors(f"cannot snapshot the disk of {vm}"):
            dom.snapshotCreateXML(snapshot_xml(snapshot, target, top, others), flags)
        return TakenDisk(frozen, top)

    def restore(self, vm: str, frozen: str, top: str) -> None:
        dom = self._dom(vm)
        if self._running(dom):
            raise HypervisorError(f"{vm} runs: its disk is put back only while it is shut off")
        if not os.path.exists(top) or backing_of(top) != frozen:
            with contextlib.suppress(FileNotFoundError):
                os.remove(top)
            overlay(frozen, top)
        if disk_file(dom) != top:
            point_at(self.conn, dom, top)

    def _layers(self, vm: str, folder: Path) -> list[str]:
        return [str(p) for p in sorted(folder.glob(f"{vm}@*.qcow2"))] + [str(folder / f"{vm}.qcow2")]

    def merge(self, vm: str, frozen: str) -> str | None:
        dom = self._dom(vm)
        running = self._running(dom)
        target, top, _ = os_disk(dom, inactive=not running)
        children = [f for f in self._layers(vm, Path(frozen).parent) if os.path.exists(f) and backing_of(f) == frozen]
        if len(children) != 1:
            return None
        child = children[0]
        if running and child in chain_of(top):
            self._commit_live(dom, target, child, frozen, active=child == top)
        else:
            commit(child, frozen)
            for above in self._layers(vm, Path(frozen).parent):
                if os.path.exists(above) and backing_of(above) == child:
                    rebase(above, frozen)
            if child == top:
                point_at(self.conn, dom, frozen)
        os.remove(child)
        return child

    def _commit_live(self, dom: Any, target: str, child: str, frozen: str, active: bool) -> None:
        lv = libvirt_module()
        with libvirt_errors(f"cannot merge {child} into {frozen}"):
            dom.blockCommit(target, frozen, child, 0, lv.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE if active else 0)
            if active:  # the VM writes to the merged file from now on
                poll(lambda: dom.blockJobInfo(target, 0), lambda job: bool(job) and job["cur"] == job["end"],
                     BLOCK_JOB_WAIT_S, 0.2)
                poll(lambda: self._pivot(dom, target), bool, 60.0, 0.5)
            poll(lambda: dom.blockJobInfo(target, 0), lambda job: not job, BLOCK_JOB_WAIT_S, 0.2)
        if active and os_disk(dom)[1] != frozen:
            raise HypervisorError(f"{dom.name()} did not move onto {frozen}; its disk stays on {child}")

    @staticmethod
    def _pivot(dom: Any, target: str) -> bool:
        lv = libvirt_module()
        try:
            dom.blockJobAbort(target, lv.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
        except lv.libvirtError as exc:
            if "not ready" in str(exc.get_error_message()).lower():
                return False
            raise
        return True

    def remove_unused(self, vm: str, keep: set[str]) -> list[str]:
        dom = self._dom(vm)
        top = os_disk(dom, inactive=not self._running(dom))[1]
        needed = set(chain_of(top))
        for path in keep:
            if os.path.exists(path):
                needed |= set(chain_of(path))
        removed = []
        for path in self._layers(vm, Path(top).parent)[:-1]:  # the VM's own volume stays
            if path not in needed:
                os.remove(path)
                removed.append(path)
        return removed

    def size(self, paths: list[str]) -> int:
        return sum(os.stat(p).st_blocks * 512 for p in paths if os.path.exists(p))
