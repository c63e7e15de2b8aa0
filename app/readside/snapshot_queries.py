"""Which snapshots there are: ``snapshot list``, and the index the snapshot commands consult."""

from __future__ import annotations

from typing import Any

from ai_how.app.ports import SnapshotIndex

from .projection import Topology
from .views import LiveTopology


def snapshot_rows(topology: Topology, cluster: str | None = None) -> list[dict[str, Any]]:
    """Snapshots not deleted, oldest first; of one cluster when named."""
    rows = [row for row in topology.snapshots.values()
            if not row["deleted"] and (cluster is None or row["cluster"] == cluster)]
    return sorted(rows, key=lambda row: row["position"])


class SnapshotNames(SnapshotIndex):
    def __init__(self, live: LiveTopology) -> None:
        self.live = live

    def of(self, cluster: str) -> list[str]:
        return [row["name"] for row in snapshot_rows(self.live.catch_up(), cluster)]

    def clusters_with(self, name: str) -> list[str]:
        return sorted(row["cluster"] for row in snapshot_rows(self.live.catch_up()) if row["name"] == name)

    def restoring(self) -> list[tuple[str, str]]:
        return [(row["cluster"], row["name"]) for row in snapshot_rows(self.live.catch_up()) if row["restoring"]]
