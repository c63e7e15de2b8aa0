"""What a deploy records, whatever its playbook does: the intent with the layout, then the
outcome (the failed host and task, or each host's counts); an interrupted run is closed as
such before the next one starts; a run in progress elsewhere refuses a second. The playbook
itself runs on real guests in test_slurm_deploy.py; here a fake provisioner answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_how.app.bootstrap import bootstrap
from ai_how.app.deploy.runs import DeployFailed
from ai_how.app.errors import UsageError
from ai_how.app.ports import HostTally
from ai_how.domain.cluster import Cluster
from ai_how.domain.commands import DeployCluster
from ai_how.domain.errors import DeployInProgress
from ai_how.domain.ids import cluster_id
from ai_how.domain.specs import ClusterPlan, VmPlan, VmSpec
from ai_how.domain.vm import Vm
from tests.fakes.provisioner import FakeProvisioner

NAMES = ("c-controller", "c-compute-01", "c-compute-02")


def _spec(i: int) -> VmSpec:
    return VmSpec(1, 1, 4, f"10.9.0.{10 + i}", base_image_path="/images/hpc-base.qcow2")


@pytest.fixture
def deploying(tmp_path: Path):
    provisioner = FakeProvisioner(tmp_path / "runs")
    bus = bootstrap(tmp_path / "state", hypervisor=object(), provisioner=provisioner, env={})
    roles = ("controller", "compute", "compute")
    plan = ClusterPlan("c", "hpc", "d", {"subnet": "10.9.0.0/24", "bridge": "b", "gateway": "10.9.0.1"},
                       tuple(VmPlan(n, "c", r, _spec(i)) for i, (n, r) in enumerate(zip(NAMES, roles))), ())
    cluster = Cluster.provision(plan)
    cluster.mark_started()
    vms = [Vm.define(vm.name, "c", vm.role, vm.spec) for vm in plan.vms]
    for vm in vms[:2]:  # the second compute stays off
        vm.request_start()
        vm.mark_started()
    bus.store.save(cluster, *vms)
    bus.store.collect_new_events()
    seen: list[str] = []
    bus.dependencies["progress"].sink = lambda subject, message: seen.append(f"{subject}: {message}")
    yield bus, provisioner, seen
    bus.close()


def _types(bus) -> list[str]:
    return [e.event_type for e in bus.store.read_log() if e.event_type.startswith("ClusterDeploy")]


def test_a_deploy_records_its_layout_and_each_host_s_counts(deploying) -> None:
    bus, provisioner, seen = deploying
    # Each host's counts differ, so a count recorded against the wrong host shows.
    provisioner.tallies = {"c-controller": HostTally(ok=7, changed=2), "c-compute-01": HostTally(ok=5, skipped=4)}
    started = bus.handle(DeployCluster("c", {"partitions": ["batch"], "max_job_time": "60"}))
    assert _types(bus) == ["ClusterDeployStarted", "ClusterDeployed"]
    run = provisioner.runs[0]
    # Every compute is in slurm.conf; only the running VMs are in the inventory.
    assert [n["name"] for n in run.extravars["slurm_nodes"]] == ["c-compute-01", "c-compute-02"]
    assert run.extravars["slurm_partitions"][0]["max_time"] == "60"
    assert list(run.inventory["all"]["children"]["slurm"]["children"]["slurm_compute"]["hosts"]) == ["c-compute-01"]
    assert run.extravars["slurm_munge_key_file"].endswith("keys/clusters/c/munge.key")
    started_event = [e for e in bus.store.read_log() if e.event_type == "ClusterDeployStarted"][0].payload
    assert "slurm_munge_key_file" not in json.dumps(started_event)  # the layout only, never a secret's path
    deployment = bus.store.get(cluster_id("c")).last_deploy
    assert (deployment.run_id, deployment.status) == (started.run_id, "deployed")
    assert deployment.hosts == {
        "c-controller": {"ok": 7, "changed": 2, "failed": 0, "unreachable": 0, "skipped": 0},
        "c-compute-01": {"ok": 5, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 4}}
    assert "c-controller: changed: The cluster's MUNGE key is on the node" in seen
    view = bus.dependencies["live_topology"].catch_up().clusters["c"]["deployment"]
    assert (view["status"], view["hosts"]) == ("deployed", deployment.hosts)


def test_a_failed_task_is_recorded_with_its_host_and_raised(deploying) -> None:
    bus, provisioner, _ = deploying
    provisioner.fail_at = ("c-controller", "slurm-controller : The slurmctld daemon runs", "unit failed")
    with pytest.raises(DeployFailed, match="deploy of c failed on c-controller at task 'slurm-controller : The "
                                           "slurmctld daemon runs': unit failed") as caught:
        bus.handle(DeployCluster("c"))
    assert "the run's events and output: " in str(caught.value)
    assert _types(bus) == ["ClusterDeployStarted", "ClusterDeployFailed"]
    deployment = bus.store.get(cluster_id("c")).last_deploy
    assert (deployment.status, deployment.failure.host, deployment.failure.message) == \
        ("failed", "c-controller", "unit failed")


def test_an_interrupted_deploy_is_closed_before_the_next_and_a_running_one_refuses(deploying) -> None:
    bus, provisioner, _ = deploying
    cluster = bus.store.get(cluster_id("c"))
    cluster.start_deploy("old-run", "playbooks/playbook-hpc.yml", "p", "c", {}, None, False)
    bus.store.save(cluster)  # as if the process that ran it had died: its events were never dispatched here
    bus.store.collect_new_events()
    provisioner.running_elsewhere = True
    with pytest.raises(DeployInProgress, match=r"run old-run\); wait for it to end"):
        bus.handle(DeployCluster("c"))
    provisioner.running_elsewhere = False
    bus.handle(DeployCluster("c"))
    assert _types(bus) == ["ClusterDeployStarted", "ClusterDeployFailed", "ClusterDeployStarted", "ClusterDeployed"]
    interrupted = [e for e in bus.store.read_log() if e.event_type == "ClusterDeployFailed"][0].payload
    assert (interrupted["run_id"], interrupted["message"].split(":")[0]) == ("old-run", "interrupted")


def test_a_limit_must_name_a_running_vm_of_the_cluster(deploying) -> None:
    bus, provisioner, _ = deploying
    with pytest.raises(UsageError, match=r"--limit c-compute-02: not a running VM of c \(running: c-controller, "
                                         r"c-compute-01\)"):
        bus.handle(DeployCluster("c", limit="c-compute-02"))
    assert provisioner.runs == [] and _types(bus) == []
