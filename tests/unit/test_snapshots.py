"""The Snapshot aggregate's rules, the read side's snapshot rows, and when a deploy takes one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from ai_how.app.backup.snapshots import check_name, default_name
from ai_how.app.deploy.runs import run_id
from ai_how.app.deploy.slurm.saga import changes, snapshot_before
from ai_how.app.errors import UsageError
from ai_how.app.ports import LoggedEvent
from ai_how.app.readside.projection import Topology
from ai_how.app.readside.snapshot_queries import snapshot_rows
from ai_how.domain.deployment import DeploymentStatus, DeployRun
from ai_how.domain.errors import SnapshotRefused
from ai_how.domain.snapshot import Snapshot

DISKS = {"vm-a": {"frozen": "/p/vm-a.qcow2", "top": "/p/vm-a@s.qcow2", "state": "running", "gpu": True,
                  "image_sha256": "ab"}}


def taken(name: str = "s", **changes_: object) -> Snapshot:
    fields = {"cluster": "c", "name": name, "disks": DISKS, "consistency": "frozen", "config_digest": "d",
              "deployment": {"run_id": "r1", "status": "deployed"}, "kubernetes": None, "log_position": 7,
              "size_bytes": 10, "reason": "requested", **changes_}
    return Snapshot(**fields)


def test_a_restore_is_started_then_finished_and_a_deleted_snapshot_is_neither_restored_nor_deleted_again() -> None:
    snapshot = taken()
    snapshot.start_restore(["vm-a"], {"vm-a": "/p/vm-a@s+1.qcow2"})
    with pytest.raises(SnapshotRefused, match="under way"):
        snapshot.start_restore([], {})
    with pytest.raises(SnapshotRefused, match="under way"):
        snapshot.delete("requested")
    snapshot.finish_restore()
    assert (snapshot.restoring, snapshot.restores) == (None, 1)
    snapshot.delete("requested")
    for refused in (lambda: snapshot.delete("again"), lambda: snapshot.start_restore([], {})):
        with pytest.raises(SnapshotRefused, match="it was deleted"):
            refused()


def test_a_name_is_taken_again_only_once_its_snapshot_is_deleted() -> None:
    snapshot = taken()
    again = {"cluster": "c", "name": "s", "disks": DISKS, "consistency": "stopped", "config_digest": "e",
             "deployment": None, "kubernetes": None, "log_position": 9, "size_bytes": 1, "reason": "requested"}
    with pytest.raises(SnapshotRefused, match="already has a snapshot named s"):
        snapshot.take_again(**again)
    snapshot.delete("requested")
    snapshot.take_again(**again)
    assert (snapshot.deleted, snapshot.consistency, snapshot.config_digest) == (False, "stopped", "e")


def test_a_merged_layer_moves_the_frozen_file_only_when_it_differs() -> None:
    snapshot = taken()
    snapshot.move_layer("vm-a", "/p/vm-a.qcow2")
    assert len(snapshot.collect_events()) == 1  # only SnapshotTaken
    snapshot.move_layer("vm-a", "/p/base.qcow2")
    assert snapshot.disks["vm-a"]["frozen"] == "/p/base.qcow2"


@pytest.mark.parametrize("name", ["", "../x", "a/b", "x@y", "-x", "a" * 64, "a b"])
def test_a_snapshot_name_that_is_not_a_plain_word_is_refused(name: str) -> None:
    with pytest.raises(UsageError, match="use letters, digits"):
        check_name(name)


def test_the_default_name_is_the_time() -> None:
    check_name(default_name(datetime(2026, 12, 6, 8, 5, 1)))
    assert default_name(datetime(2026, 12, 6, 8, 5, 1)) == "20261206-080501"


def test_a_deploy_changes_something_unless_the_last_one_deployed_the_same_layout_and_playbook() -> None:
    last = DeployRun("r1", DeploymentStatus.DEPLOYED, "p.yml", "play", "layout")
    assert changes(None, "layout", "play")
    assert not changes(last, "layout", "play")
    assert changes(last, "other", "play") and changes(last, "layout", "other")


def test_the_views_list_snapshots_and_a_restore_shows_the_deployment_the_disks_hold() -> None:
    t0 = datetime(2026, 12, 6, tzinfo=timezone.utc)
    cluster, first, second = uuid4(), uuid4(), uuid4()
    payload = dict(taken().__dict__)
    events = [
        ("Cluster", cluster, "ClusterProvisioned", {"name": "c", "kind": "hpc", "config_digest": "d", "network": {},
                                                    "vms": ["vm-a"]}),
        ("Snapshot", first, "SnapshotTaken", {**{k: payload[k] for k in ("cluster", "disks", "consistency",
                                                                         "config_digest", "log_position",
                                                                         "size_bytes", "reason")}, "name": "bare",
                                              "deployment": None, "kubernetes": None}),
        ("Cluster", cluster, "ClusterDeployStarted", {"run_id": "r1", "check": False, "playbook": "p",
                                                      "playbook_digest": "x", "config_digest": "y", "limit": None}),
        ("Cluster", cluster, "ClusterDeployed", {"run_id": "r1", "check": False, "seconds": 1.0, "hosts": {}}),
        ("Snapshot", second, "SnapshotTaken", {**{k: payload[k] for k in ("cluster", "disks", "consistency",
                                                                          "config_digest", "log_position",
                                                                          "size_bytes", "reason")},
                                               "name": "deployed", "deployment": None, "kubernetes": None}),
        ("Snapshot", first, "SnapshotRestoreStarted", {"running": [], "tops": {}}),
    ]
    topology = Topology()
    for i, (kind, aggregate, event_type, p) in enumerate(events):
        topology.apply(LoggedEvent(i + 1, t0 + timedelta(seconds=i), kind, aggregate, 1, event_type, p))
    assert [(r["name"], r["restoring"]) for r in snapshot_rows(topology, "c")] == [("bare", True),
                                                                                  ("deployed", False)]
    assert topology.clusters["c"]["deployment"]["status"] == "deployed"
    for i, (kind, aggregate, event_type, p) in enumerate([
            ("Snapshot", first, "SnapshotRestored", {"tops": {}}),
            ("Cluster", cluster, "ClusterDisksRestored", {"snapshot": "bare", "deployment": None,
                                                          "kubernetes": None}),
            ("Snapshot", second, "SnapshotDeleted", {"reason": "requested"})], start=len(events)):
        topology.apply(LoggedEvent(i + 1, t0 + timedelta(seconds=i), kind, aggregate, 1, event_type, p))
    assert "deployment" not in topology.clusters["c"] and topology.clusters["c"]["restored_from"] == "bare"
    assert [(r["name"], r["restoring"], r["restores"]) for r in snapshot_rows(topology)] == [("bare", False, 1)]


def test_the_snapshot_before_a_deploy_is_named_by_its_run_within_the_name_rules_whatever_the_cluster() -> None:
    name = snapshot_before(run_id("a-cluster-with-a-long-name-x" * 2, False))
    check_name(name)
    assert name.startswith("before-deploy-2") and len(name) == len("before-deploy-20261206T083600Z-abcdef")


def test_a_restore_says_what_becomes_of_the_shared_storage() -> None:
    from ai_how.app.cli.shared import restore_note
    from ai_how.app.host.shared_storage import SharedStorage

    folder = SharedStorage("c", "virtiofs", "/shared", "/pool/shared/c", 2 * 2**30, 9 * 2**30)
    assert restore_note(folder) == ("The shared storage (/shared, the host folder /pool/shared/c) is not in the "
                                    "snapshot: it stays as it is.")
    nfs = SharedStorage("c", "nfs", "/shared", None, 3 * 2**30, 5 * 2**30, "c-controller", True)
    said = restore_note(nfs)
    assert said.startswith("The shared storage (/shared, nfs) is on c-controller's disk and goes back with it: what "
                           "jobs wrote there since is lost (3.0 GiB there now)"), said
    assert "'ai-how model push hpc:/shared/...'" in said
    unmeasured = SharedStorage("c", "nfs", "/shared", None, None, None, "c-controller")
    assert "(not measured)" in restore_note(unmeasured) and restore_note(None) == ""
