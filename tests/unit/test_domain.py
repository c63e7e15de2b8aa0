"""The aggregates' rules, without any store."""

from __future__ import annotations

import pytest

from ai_how.domain.cluster import Cluster, ClusterStatus
from ai_how.domain.errors import ClusterNotRunning, GpuLeasedElsewhere, InvalidTransition, NotTheHolder
from ai_how.domain.gpu import Gpu
from ai_how.domain.ids import gpu_id, vm_id
from ai_how.domain.pci import PciAddress, normalize_pci_address, slot_address
from ai_how.domain.specs import ClusterPlan, DeviceFunction, GpuSpec, VmPlan, VmSpec
from ai_how.domain.vm import StopReason, Vm, VmState

CARD = GpuSpec("0000:01:00.0", (DeviceFunction("0000:01:00.0", "gpu", "10de", "2684", 12),
                                DeviceFunction("0000:01:00.1", "audio", "10de", "22ba", 12)))


def new_vm(name: str = "hpc-compute-01") -> Vm:
    return Vm.define(name, "hpc", "compute", VmSpec(2, 4, 10, "10.0.0.11", gpus=("0000:01:00.0",)))


@pytest.mark.parametrize("text, expected", [
    ("0000:01:00.0", "0000:01:00.0"), ("0000:AB:1F.7", "0000:ab:1f.7"), ("abcd:00:00.3", "abcd:00:00.3")])
def test_pci_addresses_are_normalised(text: str, expected: str) -> None:
    assert normalize_pci_address(text) == expected


@pytest.mark.parametrize("text", ["0000:01:00.8", "0000:01:20.0", "01:00.0", "0000:01:00", "0000:1:00.0", ""])
def test_malformed_pci_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a PCI address"):
        PciAddress.parse(text)


def test_every_function_of_a_card_maps_to_function_zero() -> None:
    assert slot_address("0000:01:00.1") == "0000:01:00.0"
    assert str(PciAddress.parse("0000:01:00.1").function_zero) == "0000:01:00.0"


def test_ids_are_deterministic_natural_keys() -> None:
    assert Gpu.register(CARD).id == gpu_id("0000:01:00.0")
    assert new_vm("a").id == vm_id("a") != vm_id("b")


def test_a_gpu_is_leased_to_one_vm_and_released_only_by_it() -> None:
    gpu = Gpu.register(CARD)
    gpu.lease("vm-a")
    gpu.lease("vm-a")  # asking again is not a second lease
    with pytest.raises(GpuLeasedElsewhere, match="GPU 0000:01:00.0 is leased to vm-a"):
        gpu.lease("vm-b")
    with pytest.raises(NotTheHolder, match="only vm-a can release it"):
        gpu.release("vm-b")
    gpu.release("vm-a")
    assert gpu.holder is None
    with pytest.raises(NotTheHolder, match="is not leased"):
        gpu.release("vm-a")
    assert [type(e).__name__ for e in gpu.collect_events()] == ["GpuRegistered", "GpuLeased", "GpuReleased"]


def test_a_card_leased_again_before_its_return_was_recorded_keeps_its_host_drivers() -> None:
    gpu = Gpu.register(CARD)
    gpu.lease("vm-a")
    gpu.record_vfio_binding({"0000:01:00.0": "nvidia"})
    gpu.release("vm-a")
    gpu.lease("vm-b")  # before vm-a's return to the host was recorded
    gpu.record_back_on_host()
    assert gpu.host_drivers == {"0000:01:00.0": "nvidia"}, "vm-b's release must still give it back"
    gpu.release("vm-b")
    gpu.record_back_on_host()
    assert gpu.host_drivers is None
    assert [type(e).__name__ for e in gpu.collect_events()][-1] == "GpuReturnedToHost"


def test_a_card_keeps_its_companion_functions() -> None:
    gpu = Gpu.register(CARD)
    assert gpu.function_addresses == ["0000:01:00.0", "0000:01:00.1"]
    assert gpu.ids == ("10de", "2684")


def test_the_vm_lifecycle_follows_its_intents() -> None:
    vm = new_vm()
    vm.request_start()
    assert vm.state == VmState.STARTING and vm.pending_intent == "start"
    vm.mark_started()
    with pytest.raises(InvalidTransition, match="it is running; it needs no start"):
        vm.request_start()
    vm.request_stop(timeout=5)
    assert vm.pending_intent == "stop"
    vm.mark_stopped()
    assert vm.state == VmState.STOPPED
    vm.request_start()
    vm.mark_start_failed("domain failed to boot")
    assert vm.state == VmState.STOPPED and vm.last_error == "domain failed to boot"
    vm.destroy()
    with pytest.raises(InvalidTransition, match="destroyed"):
        vm.request_start()


def test_a_failed_first_start_returns_the_vm_to_defined() -> None:
    vm = new_vm()
    vm.request_start()
    vm.mark_start_failed("no such image")
    assert vm.state == VmState.DEFINED


def test_a_stop_seen_outside_the_tool_needs_no_request() -> None:
    vm = new_vm()
    vm.request_start()
    vm.mark_started()
    with pytest.raises(InvalidTransition):
        vm.mark_stopped(StopReason.REQUESTED)
    vm.mark_stopped(StopReason.CRASHED)
    assert vm.collect_events()[-1].reason == "crashed"


def test_a_running_vm_cannot_be_destroyed() -> None:
    vm = new_vm()
    vm.request_start()
    vm.mark_started()
    with pytest.raises(InvalidTransition, match="stop it first"):
        vm.destroy()


def test_a_destroyed_cluster_is_final() -> None:
    plan = ClusterPlan("hpc", "hpc", "abc", {"subnet": "10.0.0.0/24", "bridge": "br0"},
                       (VmPlan("hpc-controller", "hpc", "controller", VmSpec(1, 1, 1, None)),), ())
    cluster = Cluster.provision(plan)
    cluster.mark_started()
    cluster.mark_stopped()
    cluster.destroy()
    assert cluster.status == ClusterStatus.DESTROYED
    with pytest.raises(InvalidTransition, match="was destroyed"):
        cluster.mark_started()
    names = [type(e).__name__ for e in cluster.collect_events()]
    assert names == ["ClusterProvisioned", "ClusterStarted", "ClusterStopped", "ClusterDestroyed"]


def _running_cluster() -> Cluster:
    plan = ClusterPlan("hpc", "hpc", "abc", {"subnet": "10.0.0.0/24", "bridge": "br0"},
                       (VmPlan("hpc-controller", "hpc", "controller", VmSpec(1, 1, 1, None)),), ())
    cluster = Cluster.provision(plan)
    cluster.mark_started()
    return cluster


def test_only_a_running_cluster_is_deployed_one_run_at_a_time() -> None:
    cluster = Cluster.provision(ClusterPlan("hpc", "hpc", "abc", {}, (), ()))
    with pytest.raises(ClusterNotRunning, match="is provisioned, not running"):
        cluster.start_deploy("r1", "p.yml", "pd", "cd", {}, None, False)
    cluster = _running_cluster()
    cluster.start_deploy("r1", "p.yml", "pd", "cd", {"slurm_nodes": []}, None, False)
    with pytest.raises(InvalidTransition, match=r"is being deployed \(run r1\)"):
        cluster.start_deploy("r2", "p.yml", "pd", "cd", {}, None, True)
    with pytest.raises(InvalidTransition, match="run r9 is not the deploy in progress"):
        cluster.mark_deployed("r9", 1.0, {})
    cluster.mark_deployed("r1", 12.34, {"n": {"ok": 3, "changed": 1}})
    assert cluster.last_deploy.status == "deployed" and cluster.last_deploy.seconds == 12.3
    assert cluster.last_deploy.changed == 1 and cluster.last_deploy.failure is None
    assert cluster.deploying is None


def test_a_check_run_and_a_failure_are_kept_apart_from_the_last_deployment() -> None:
    cluster = _running_cluster()
    cluster.start_deploy("r1", "p.yml", "pd", "cd", {}, None, False)
    cluster.mark_deployed("r1", 5.0, {})
    cluster.start_deploy("r2", "p.yml", "pd", "cd", {}, None, True)
    cluster.mark_deploy_failed("r2", "hpc-controller", "Start slurmctld", "boom", 2.0, {})
    assert cluster.last_deploy.run_id == "r1" and cluster.last_deploy.status == "deployed"
    check = cluster.last_check_run
    assert (check.status, check.check, check.failure.host, check.failure.task) == \
        ("failed", True, "hpc-controller", "Start slurmctld")
    assert cluster.run("r2") == check and cluster.run("r9") is None
    names = [type(e).__name__ for e in cluster.collect_events()]
    assert names[-4:] == ["ClusterDeployStarted", "ClusterDeployed", "ClusterDeployStarted", "ClusterDeployFailed"]


def test_a_destroyed_and_provisioned_again_cluster_forgets_its_deployment() -> None:
    cluster = _running_cluster()
    cluster.start_deploy("r1", "p.yml", "pd", "cd", {}, None, False)
    cluster.mark_deployed("r1", 5.0, {})
    cluster.mark_stopped()
    cluster.destroy()
    cluster.reprovision(ClusterPlan("hpc", "hpc", "abd", {}, (), ()))
    assert cluster.deployment is None and cluster.last_check is None
