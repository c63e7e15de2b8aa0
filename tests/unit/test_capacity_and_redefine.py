"""The capacity rule and the in-place redefinition rules, without a hypervisor."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ai_how.app.host.capacity import CapacityExceeded, capacity, enforce
from ai_how.app.lifecycle.redefine import VmChange, kept_image
from ai_how.domain.specs import VmPlan, VmSpec


def _plan(name: str, cpus: int, memory: float) -> VmPlan:
    return VmPlan(name, "c", "compute", VmSpec(cpu_cores=cpus, memory_gb=memory, disk_gb=10, ip=None))


def _topology(**vms: tuple[int, float, str]) -> SimpleNamespace:
    return SimpleNamespace(vms={name: {"state": state, "spec": {"cpu_cores": c, "memory_gb": m}}
                                for name, (c, m, state) in vms.items()})


def test_what_runs_and_what_starts_are_added_and_a_leaving_vm_is_not():
    topology = _topology(a=(4, 8, "running"), b=(2, 4, "stopped"), c=(8, 16, "running"))
    found = capacity(topology, [_plan("b", 2, 4), _plan("a", 4, 8)], 16, 64 * 1024, 2.0, 1.0, leaving=("c",))
    assert (found.vcpus, found.memory_gb) == (6, 12)  # a once, b to start, c leaves
    assert [name for name, _, _ in found.to_start] == ["b"]


def test_within_the_limits_nothing_is_said():
    found = capacity(_topology(), [_plan("x", 4, 8)], 4, 10 * 1024, 2.0, 1.0)
    assert enforce(found, force=False) is None


def test_beyond_them_it_is_refused_with_both_numbers_and_forced_it_gives_the_snapshot():
    found = capacity(_topology(r=(2, 4, "running")), [_plan("x", 4, 8)], 4, 10 * 1024, 2.0, 1.0)
    with pytest.raises(CapacityExceeded) as refused:
        enforce(found, force=False)
    assert "memory: 12 GiB for the VMs, of 8 GiB they may use" in str(refused.value)
    assert "vCPUs: 6 vCPUs for the VMs, of 4 they may use" in str(refused.value)
    assert "--force starts it anyway" in refused.value.hint
    snapshot = enforce(found, force=True)
    assert snapshot["exceeded"] == ["memory", "vCPUs"]
    assert snapshot["running"] == [["r", 2, 4.0]] and snapshot["to_start"] == [["x", 4, 8.0]]


def _change(*fields: tuple[str, object, object]) -> VmChange:
    return VmChange("vm", "stopped", tuple(fields))


def test_memory_cpus_and_a_bigger_disk_change_in_place():
    assert _change(("memory_gb", 4.0, 8.0), ("cpu_cores", 2, 4), ("disk_gb", 10, 20)).blocked is None


def test_a_smaller_disk_and_a_new_address_do_not():
    assert "never shrunk; give disk_gb: 20 or more" in _change(("disk_gb", 20, 10)).blocked
    assert _change(("ip", "10.0.0.1", "10.0.0.2")).blocked.startswith("ip cannot change in place")
    assert _change(("memory_gb", 4.0, 8.0)).summary == "memory_gb 4 → 8"


def test_a_rebuilt_image_of_the_same_name_is_no_change():
    recorded = VmSpec(cpu_cores=1, memory_gb=1, disk_gb=10, ip=None, base_image="hpc-base",
                      base_image_path="/images/old.qcow2", base_image_sha256="aa")
    configured = VmSpec(cpu_cores=2, memory_gb=1, disk_gb=10, ip=None, base_image="hpc-base")
    kept = kept_image(recorded, configured)
    assert (kept.base_image_path, kept.base_image_sha256, kept.cpu_cores) == ("/images/old.qcow2", "aa", 2)
    other = VmSpec(cpu_cores=1, memory_gb=1, disk_gb=10, ip=None, base_image="cloud-base")
    assert kept_image(recorded, other).base_image_path is None


def test_the_shared_storage_s_backend_does_not_change_in_place_but_an_older_cluster_gets_virtiofs():
    virtiofs = [{"tag": "aihow-shared", "host_path": "", "mount_point": "/shared", "readonly": False}]
    nfs = [{**virtiofs[0], "backend": "nfs"}]
    assert "backend is set up by a VM's first boot" in _change(("shared_directories", virtiofs, nfs)).blocked
    assert "backend is set up by a VM's first boot" in _change(("shared_directories", nfs, virtiofs)).blocked
    assert "backend is set up by a VM's first boot" in _change(("shared_directories", [], nfs)).blocked
    assert _change(("shared_directories", [], virtiofs)).blocked is None
