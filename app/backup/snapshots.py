"""Snapshots of a cluster's disks: every VM at one point in time, running guests' filesystems
frozen together through their guest agents and thawed after; restored with the cluster stopped
the way stops are (SLURM's jobs asked first), what ran started again; deleted by folding the
snapshot's layer back so that chains stay short.

Memory is never saved: a VM with a passed-through GPU cannot save it, so every snapshot is
disk-only, and the record says which VMs held a GPU.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.faults import crash_point
from ai_how.app.ports import DiskSnapshots, EventStore, SnapshotIndex, TakenDisk
from ai_how.domain.cluster import Cluster, ClusterStatus
from ai_how.domain.commands import StartVms, StopVms
from ai_how.domain.errors import SnapshotRefused, UnknownObject
from ai_how.domain.ids import cluster_id, snapshot_id, vm_id
from ai_how.domain.snapshot import Consistency, Snapshot
from ai_how.domain.snapshot_commands import DeleteSnapshot, RestoreSnapshot, TakeSnapshot
from ai_how.domain.vm import Vm, VmState

if TYPE_CHECKING:
    from ai_how.app.bus import MessageBus

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise UsageError(f"snapshot name {name!r}: use letters, digits, '.', '_' and '-' (at most 63, "
                         "starting with a letter or digit)")


def default_name(now: datetime) -> str:
    return now.strftime("%Y%m%d-%H%M%S")


def layer_name(vm: str, snapshot: str, restore: int) -> str:
    return f"{vm}@{snapshot}+{restore}.qcow2"


def cluster_of(store: EventStore, name: str) -> Cluster:
    cluster = store.get(cluster_id(name))
    if cluster is None or cluster.status == ClusterStatus.DESTROYED:
        error = UnknownObject(f"cluster {name} is not recorded here")
        error.hint = "'ai-how topology' lists the clusters"
        raise error
    return cluster


def snapshot_of(store: EventStore, cluster: str, name: str, others: list[str] | None = None) -> Snapshot:
    snapshot = store.get(snapshot_id(cluster, name))
    if snapshot is None or snapshot.deleted:
        elsewhere = f"; a snapshot of that name belongs to cluster {', '.join(others)}" if others else ""
        error = UnknownObject(f"cluster {cluster} has no snapshot named {name}{elsewhere}")
        error.hint = f"'ai-how snapshot list {cluster}' lists its snapshots"
        raise error
    return snapshot


def _vms(store: EventStore, cluster: Cluster) -> list[Vm]:
    vms: list[Vm] = [vm for name in cluster.vms if (vm := store.get(vm_id(name))) is not None]
    busy = [vm.name for vm in vms if vm.state in (VmState.STARTING, VmState.STOPPING)]
    if busy:
        raise SnapshotRefused(f"{', '.join(busy)} of cluster {cluster.name} is starting or stopping; wait for it, "
                              "or run 'ai-how reconcile' if its command was cut off")
    return vms


@dataclass
class SnapshotResult:
    cluster: str
    name: str
    consistency: str = ""
    vms: dict[str, str] = field(default_factory=dict)  # VM -> what was done to it
    size_bytes: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "name": self.name, "consistency": self.consistency, "vms": self.vms,
                "size_bytes": self.size_bytes, "seconds": round(self.seconds, 3), "notes": self.notes}


def take_snapshot(command: TakeSnapshot, store: EventStore, disk_snapshots: DiskSnapshots,
                  snapshot_names: SnapshotIndex) -> SnapshotResult:
    check_name(command.name)
    began = time.monotonic()
    cluster = cluster_of(store, command.cluster)
    if command.reason != "requested":  # an automatic one: its time-stamped name made free
        command = dataclasses.replace(command, name=_free_name(store, command.cluster, command.name))
    existing = store.get(snapshot_id(command.cluster, command.name))
    if existing is not None and not existing.deleted:
        error = SnapshotRefused(f"cluster {command.cluster} already has a snapshot named {command.name}")
        error.hint = f"choose another --name, or delete it first ('ai-how snapshot delete {command.cluster} {command.name}')"
        raise error
    if cluster.deploying is not None:
        raise SnapshotRefused(f"cluster {cluster.name} is being deployed; take the snapshot when the deploy has ended")
    vms = _vms(store, cluster)
    running = [vm.name for vm in vms if vm.state == VmState.RUNNING]
    frozen: list[str] = []
    try:
        if not command.crash_consistent:
            answers = _each(disk_snapshots.freeze, running)
            frozen = [name for name in running if answers[name] is None]
            refused = next((name for name in running if answers[name] is not None), None)
            if refused is not None:
                error = SnapshotRefused(f"cannot freeze the filesystems of {refused}: {answers[refused]}; "
                                        "nothing was snapshotted")
                error.hint = (f"stop {refused} first, or take a crash-consistent snapshot of the running guests "
                              "with --crash-consistent")
                raise error
        taken = _take_all(disk_snapshots, [vm.name for vm in vms], command.name)
    finally:
        _each(disk_snapshots.thaw, frozen)
    consistency = Consistency.STOPPED if not running else (
        Consistency.CRASH if command.crash_consistent else Consistency.FROZEN)
    disks: dict[str, dict[str, Any]] = {vm.name: {"frozen": taken[vm.name].frozen, "top": taken[vm.name].top,
                       "state": "running" if vm.name in running else "stopped", "gpu": bool(vm.spec.gpus),
                       "image_sha256": vm.spec.base_image_sha256} for vm in vms}
    size = disk_snapshots.size([disk["frozen"] for disk in disks.values()])
    fields: dict[str, Any] = {"cluster": cluster.name, "name": command.name, "disks": disks, "consistency": consistency.value,
              "config_digest": cluster.config_digest, "deployment": cluster.deployment,
              "kubernetes": cluster.kubernetes, "log_position": store.max_position(), "size_bytes": size,
              "reason": command.reason}
    if existing is None:
        snapshot = Snapshot(**fields)
    else:
        existing.take_again(**fields)
        snapshot = existing
    store.save(snapshot)
    done = {name: ("frozen, disk-only" if name in frozen else "disk-only") + (", holds a GPU" if disks[name]["gpu"]
                                                                              else "") for name in disks}
    result = SnapshotResult(cluster.name, command.name, consistency.value, done, size)
    if command.keep is not None:
        result.notes += _prune(store, disk_snapshots, snapshot_names, cluster.name, command.keep)
    result.seconds = time.monotonic() - began
    return result


def _free_name(store: EventStore, cluster: str, name: str) -> str:
    for candidate in [name, *(f"{name}-{n}" for n in range(2, 100))]:
        found = store.get(snapshot_id(cluster, candidate))
        if found is None or found.deleted:
            return candidate
    raise SnapshotRefused(f"cluster {cluster} has 100 snapshots named {name}[-N]; delete some")


def _prune(store: EventStore, disk_snapshots: DiskSnapshots, snapshot_names: SnapshotIndex, cluster: str,
           keep: int) -> list[str]:
    """The oldest automatic snapshots beyond ``keep`` deleted; those taken by hand stay."""
    automatic = [name for name in snapshot_names.of(cluster)
                 if (found := store.get(snapshot_id(cluster, name))) is not None and found.reason != "requested"]
    notes = []
    for name in automatic[:max(0, len(automatic) - keep)]:
        delete_snapshot(DeleteSnapshot(cluster, name, f"more than {keep} automatic snapshots"), store,
                        disk_snapshots, snapshot_names)
        notes.append(f"deleted the automatic snapshot {name} (global.snapshots.keep is {keep})")
    return notes


def _at_once(act: Callable[[str], Any], vms: list[str]) -> dict[str, Future[Any]]:
    """``act`` on every VM at once (a guest agent's answer, a snapshot, takes its own time); each
    VM's outcome once all have ended."""
    with ThreadPoolExecutor(max_workers=min(max(len(vms), 1), 8)) as pool:
        return {vm: pool.submit(act, vm) for vm in vms}


def _each(act: Callable[[str], Any], vms: list[str]) -> dict[str, Any]:
    """What ``act`` returned for each VM; the first error, in the VMs' order, once all have ended."""
    return {vm: future.result() for vm, future in _at_once(act, vms).items()}


def _take_all(disk_snapshots: DiskSnapshots, vms: list[str], name: str) -> dict[str, TakenDisk]:
    """Every VM's disk, or none: the layers taken are put back when one VM's fails."""
    done = _at_once(lambda vm: disk_snapshots.take(vm, name), vms)
    taken = {vm: future.result() for vm, future in done.items() if future.exception() is None}
    failure = next((future.exception() for future in done.values() if future.exception() is not None), None)
    if failure is None:
        return taken
    for vm, disk in taken.items():
        disk_snapshots.merge(vm, disk.frozen)
    if not isinstance(failure, InfrastructureError):
        raise failure
    undone = f"; {', '.join(taken)} put back as they were" if taken else ""
    raise InfrastructureError(f"snapshot {name} was not taken: {failure}{undone}") from failure


def _put_back(store: EventStore, disk_snapshots: DiskSnapshots, snapshot: Snapshot, keep: set[str]) -> list[str]:
    """Each VM's disk put back (the VMs are off), the record finished; what is no longer needed removed."""
    assert snapshot.restoring is not None
    for vm, top in snapshot.restoring["tops"].items():
        disk_snapshots.restore(vm, snapshot.disks[vm]["frozen"], top)
        crash_point("restore-after-first-disk")
    cluster = cluster_of(store, snapshot.cluster)
    cluster.restore_disks(snapshot.name, snapshot.deployment, snapshot.kubernetes)
    snapshot.finish_restore()
    store.save(snapshot, cluster)
    removed: list[str] = []
    for vm in snapshot.disks:
        removed += disk_snapshots.remove_unused(vm, keep)
    return removed


def restore_snapshot(command: RestoreSnapshot, store: EventStore, disk_snapshots: DiskSnapshots, bus: MessageBus,
                     snapshot_names: SnapshotIndex) -> SnapshotResult:
    began = time.monotonic()
    cluster = cluster_of(store, command.cluster)
    others = [c for c in snapshot_names.clusters_with(command.name) if c != command.cluster]
    snapshot = snapshot_of(store, command.cluster, command.name, others)
    missing = [vm for vm in snapshot.disks if vm not in cluster.vms]
    if missing:
        raise SnapshotRefused(f"snapshot {command.name} holds {', '.join(missing)}, no longer in cluster "
                              f"{cluster.name}: it cannot be restored as a whole")
    if snapshot.restoring is not None:
        raise SnapshotRefused(f"a restore of snapshot {command.name} is under way; 'ai-how reconcile' settles it")
    running = [vm.name for vm in _vms(store, cluster) if vm.state == VmState.RUNNING]
    result = SnapshotResult(cluster.name, command.name, snapshot.consistency.value)
    if snapshot.config_digest != cluster.config_digest:
        result.notes.append(f"snapshot {command.name} was taken under another config of {cluster.name}: the disks go "
                            "back, the VMs keep their present definitions ('ai-how plan CONFIG' shows the difference)")
    if running:
        stopped = bus.handle(StopVms(tuple(running), command.timeout, jobs=command.jobs))
        result.notes += stopped.notes
    folder = {vm: disk["top"].rsplit("/", 1)[0] for vm, disk in snapshot.disks.items()}
    tops = {vm: f"{folder[vm]}/{layer_name(vm, snapshot.name, snapshot.restores + 1)}" for vm in snapshot.disks}
    snapshot.start_restore(running, tops)
    store.save(snapshot)
    keep = keep_for(store, snapshot_names, cluster.name)
    removed = _put_back(store, disk_snapshots, snapshot, keep)
    result.notes += [f"removed {path}, which no snapshot needs" for path in removed]
    result.vms = {vm: "restored" + (", started again" if vm in running else "") for vm in snapshot.disks}
    if running:
        bus.handle(StartVms(tuple(vm for vm in cluster.vms if vm in running)))
    result.seconds = time.monotonic() - began
    return result


def keep_for(store: EventStore, snapshot_names: SnapshotIndex, cluster: str) -> set[str]:
    """The frozen files every live snapshot of the cluster rests on."""
    keep: set[str] = set()
    for name in snapshot_names.of(cluster):
        snapshot = store.get(snapshot_id(cluster, name))
        if snapshot is not None and not snapshot.deleted:
            keep |= {disk["frozen"] for disk in snapshot.disks.values()}
    return keep


def delete_snapshot(command: DeleteSnapshot, store: EventStore, disk_snapshots: DiskSnapshots,
                    snapshot_names: SnapshotIndex) -> SnapshotResult:
    began = time.monotonic()
    snapshot = snapshot_of(store, command.cluster, command.name)
    snapshot.delete(command.reason)
    others: list[Snapshot] = [s for n in snapshot_names.of(command.cluster) if n != command.name
                              and (s := store.get(snapshot_id(command.cluster, n))) is not None and not s.deleted]
    result = SnapshotResult(command.cluster, command.name, snapshot.consistency.value)
    moved: list[Snapshot] = []
    for vm, disk in snapshot.disks.items():
        shared = [s for s in others if vm in s.disks and s.disks[vm]["frozen"] == disk["frozen"]]
        merged = None if shared else disk_snapshots.merge(vm, disk["frozen"])
        result.vms[vm] = f"merged {merged.rsplit('/', 1)[1]} into its layer" if merged else "layer kept"
        for other in others:
            if merged is not None and vm in other.disks and other.disks[vm]["frozen"] == merged:
                other.move_layer(vm, disk["frozen"])
                moved.append(other)
    store.save(snapshot, *moved)
    keep = keep_for(store, snapshot_names, command.cluster) - {d["frozen"] for d in snapshot.disks.values()}
    for vm in snapshot.disks:
        result.notes += [f"removed {path}" for path in disk_snapshots.remove_unused(vm, keep)]
    result.seconds = time.monotonic() - began
    return result


def settle_restores(store: EventStore, disk_snapshots: DiskSnapshots, snapshot_names: SnapshotIndex,
                    is_off: Callable[[str], bool]) -> list[str]:
    """``reconcile``'s part: a restore cut off half way is finished where its VMs are all off."""
    lines = []
    for cluster, name in snapshot_names.restoring():
        snapshot = store.get(snapshot_id(cluster, name))
        if snapshot is None or snapshot.restoring is None:
            continue
        if not all(is_off(vm) for vm in snapshot.disks):
            lines.append(f"snapshot {name} of cluster {cluster}: a restore was cut off while a VM of it runs; "
                         "stop the cluster and run 'ai-how reconcile' again to finish it")
            continue
        running = list(snapshot.restoring["running"])
        _put_back(store, disk_snapshots, snapshot, keep_for(store, snapshot_names, cluster))
        again = f"; {', '.join(running)} ran before it: start them again ('ai-how vm start NAME')" if running else ""
        lines.append(f"snapshot {name} of cluster {cluster}: finished a restore that was cut off{again}")
    return lines


COMMAND_HANDLERS: dict[type, Any] = {TakeSnapshot: take_snapshot, RestoreSnapshot: restore_snapshot,
                                     DeleteSnapshot: delete_snapshot}
