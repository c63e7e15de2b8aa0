"""The topology fold and the invariant check, on hand-made event sequences."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from ai_how.app.ports import EventStore, LoggedEvent
from ai_how.app.readside.audit import verify
from ai_how.app.readside.projection import Topology

T0 = datetime(2026, 11, 22, 14, 0, tzinfo=timezone.utc)
IDS = {"c": uuid4(), "vm-a": uuid4(), "vm-b": uuid4(), "gpu": uuid4()}
SPEC = {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 1, "ip": None, "auto_start": True, "gpus": ["0000:01:00.0"]}


def log(*events: tuple[str, str, str, dict]) -> list[LoggedEvent]:
    return [LoggedEvent(i + 1, T0 + timedelta(seconds=i), aggregate, IDS[key], i + 1, kind, payload)
            for i, (aggregate, key, kind, payload) in enumerate(events)]


SETUP = (
    ("Cluster", "c", "ClusterProvisioned", {"name": "c", "kind": "hpc", "config_digest": "d", "network": {},
                                            "vms": ["vm-a", "vm-b"]}),
    ("Gpu", "gpu", "GpuRegistered", {"pci_address": "0000:01:00.0", "functions": []}),
    ("Vm", "vm-a", "VmDefined", {"name": "vm-a", "cluster": "c", "role": "compute", "spec": SPEC}),
    ("Vm", "vm-b", "VmDefined", {"name": "vm-b", "cluster": "c", "role": "compute", "spec": SPEC}),
)


class FakeLog(EventStore):
    """The log's reading side over a list: enough for folding and verifying."""

    def __init__(self, events: list[LoggedEvent]) -> None:
        self.events = events

    def iter_log(self, start: int = 1, event_types=()):
        return iter(e for e in self.events if e.position >= start)


def test_the_fold_follows_a_start_a_failure_and_a_stop() -> None:
    t = Topology()
    for e in log(*SETUP, ("Vm", "vm-a", "VmStartRequested", {}), ("Gpu", "gpu", "GpuLeased", {"vm": "vm-a"}),
                 ("Vm", "vm-a", "VmStartFailed", {"error": "boom"}),
                 ("Gpu", "gpu", "GpuReleased", {"vm": "vm-a", "reason": "start failed"}),
                 ("Vm", "vm-b", "VmStartRequested", {}), ("Gpu", "gpu", "GpuLeased", {"vm": "vm-b"}),
                 ("Vm", "vm-b", "VmStarted", {"observed": False})):
        t.apply(e)
    assert t.vms["vm-a"]["state"] == "defined" and t.vms["vm-a"]["last_error"] == "boom"
    assert t.vms["vm-b"]["state"] == "running" and t.gpus["0000:01:00.0"]["holder"] == "vm-b"
    assert t.position == 11 and t.subject(log(*SETUP)[1]) == ("gpu", "0000:01:00.0")
    assert ("vms", "vm-b") in t.changed


def test_a_clean_history_verifies() -> None:
    events = log(*SETUP, ("Gpu", "gpu", "GpuLeased", {"vm": "vm-a"}), ("Vm", "vm-a", "VmStarted", {"observed": False}))
    assert verify(FakeLog(events)) == (6, [])


def test_every_rule_is_checked_with_its_position() -> None:
    events = log(*SETUP,
                 ("Vm", "vm-b", "VmStarted", {"observed": True}),                      # 5: no lease
                 ("Gpu", "gpu", "GpuLeased", {"vm": "vm-a"}),
                 ("Gpu", "gpu", "GpuLeased", {"vm": "vm-b"}),                          # 7: two holders
                 ("Gpu", "gpu", "GpuReleased", {"vm": "vm-a", "reason": "requested"}),  # 8: not the holder
                 ("Cluster", "c", "ClusterDestroyed", {}),
                 ("Cluster", "c", "ClusterStarted", {}))                                # 10: after destroy
    _, violations = verify(FakeLog(events))
    assert [(v.position, v.rule) for v in violations] == [
        (5, "started-without-lease"), (7, "two-holders"), (8, "release-by-non-holder"), (10, "after-destroy")]


def test_deployments_fold_into_the_cluster_row_and_a_check_run_apart() -> None:
    started = {"run_id": "r1", "playbook": "playbooks/playbook-hpc.yml", "playbook_digest": "pd",
               "config_digest": "cd", "layout": {}, "limit": None, "check": False}
    t = Topology()
    for e in log(*SETUP, ("Cluster", "c", "ClusterDeployStarted", started),
                 ("Cluster", "c", "ClusterDeployed", {"run_id": "r1", "playbook_digest": "pd", "config_digest": "cd",
                                                      "seconds": 61.5, "hosts": {"vm-a": {"ok": 9, "changed": 4}},
                                                      "check": False}),
                 ("Cluster", "c", "ClusterDeployStarted", {**started, "run_id": "r2", "check": True}),
                 ("Cluster", "c", "ClusterDeployFailed", {"run_id": "r2", "host": "vm-a", "task": "t", "message": "m",
                                                          "seconds": 3.0, "hosts": {}, "check": True})):
        t.apply(e)
    deployment = t.clusters["c"]["deployment"]
    assert (deployment["status"], deployment["run_id"], deployment["seconds"]) == ("deployed", "r1", 61.5)
    assert deployment["hosts"] == {"vm-a": {"ok": 9, "changed": 4}}
    assert (t.clusters["c"]["last_check"]["status"], t.clusters["c"]["last_check"]["task"]) == ("failed", "t")
