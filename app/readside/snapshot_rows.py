"""Snapshot rows of the topology read model, and the cluster's deployment put back by a restore.

A snapshot row keeps the cluster's deployment as the views showed it when it was taken, so
that a restore shows again the deployment its disks hold.
"""

from __future__ import annotations

import copy
from typing import Any

from ai_how.app.ports import LoggedEvent


def _key(cluster: str, name: str) -> str:
    return f"{cluster}/{name}"


def _taken(t: Any, e: LoggedEvent, p: dict[str, Any]) -> None:
    key = _key(p["cluster"], p["name"])
    t.names[str(e.aggregate_id)] = ["snapshot", key]
    t.changed.add(("names", str(e.aggregate_id)))
    cluster = t.clusters.get(p["cluster"], {})
    t.snapshots[key] = {
        "cluster": p["cluster"], "name": p["name"], "taken_at": e.timestamp.isoformat(),
        "consistency": p["consistency"], "reason": p["reason"], "size_bytes": p["size_bytes"],
        "vms": {vm: disk["state"] for vm, disk in p["disks"].items()},
        "gpu_vms": sorted(vm for vm, disk in p["disks"].items() if disk.get("gpu")),
        "config_digest": p["config_digest"], "log_position": p["log_position"], "deleted": False,
        "restoring": False, "restores": 0, "position": e.position,
        "cluster_then": {k: copy.deepcopy(cluster.get(k)) for k in ("deployment", "kubernetes")}}
    t.changed.add(("snapshots", key))


def _row(t: Any, e: LoggedEvent) -> dict[str, Any] | None:
    key = t.names.get(str(e.aggregate_id), [None, None])[1]
    if key not in t.snapshots:
        return None
    t.changed.add(("snapshots", key))
    row: dict[str, Any] = t.snapshots[key]
    return row


def _changed(**values: Any):
    def apply(t: Any, e: LoggedEvent, p: dict[str, Any]) -> None:
        row = _row(t, e)
        if row is not None:
            row.update(values)
            if values.get("restoring") is False:
                row["restores"] += 1
                row["restored_at"] = e.timestamp.isoformat()
    return apply


def _disks_restored(t: Any, e: LoggedEvent, p: dict[str, Any]) -> None:
    name = t.names.get(str(e.aggregate_id), [None, None])[1]
    snapshot = t.snapshots.get(_key(name, p["snapshot"]))
    if name in t.clusters and snapshot is not None:
        t.changed.add(("clusters", name))
        row = t.clusters[name]
        for key, value in snapshot["cluster_then"].items():
            if value is None:
                row.pop(key, None)
            else:
                row[key] = copy.deepcopy(value)
        row["restored_from"] = p["snapshot"]


SNAPSHOT_HANDLERS = {
    "SnapshotTaken": _taken,
    "SnapshotRetaken": _taken,
    "SnapshotRestoreStarted": _changed(restoring=True),
    "SnapshotRestored": _changed(restoring=False),
    "SnapshotDeleted": _changed(deleted=True),
    "ClusterDisksRestored": _disks_restored,
}
