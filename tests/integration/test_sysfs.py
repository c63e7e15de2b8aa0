"""The sysfs adapter on a fake tree whose kernel answers writes, faults included."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_how.adapters.sysfs import SysfsError
from ai_how.app.host.inventory import inventory
from ai_how.app.lifecycle.sagas import group_functions
from tests.fakes.sysfs import GPU_CARD, FakeKernel, Faults, build_tree

CARD = ["0000:01:00.0", "0000:01:00.1"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "sysfs-host", GPU_CARD)


def drivers(kernel: FakeKernel) -> list[str | None]:
    return [kernel.function(a).driver for a in CARD]


def overrides(tree: Path) -> list[str]:
    return [(tree / f"sys/bus/pci/devices/{a}/driver_override").read_text().strip() for a in CARD]


def test_inventory_finds_the_gpu_its_companion_and_bridge(tree: Path) -> None:
    [gpu] = inventory(FakeKernel(tree))
    assert (gpu.gpu.address, gpu.model, gpu.gpu.iommu_group) == ("0000:01:00.0", "NVIDIA GeForce RTX 4090", 12)
    assert [c.address for c in gpu.companions] == ["0000:01:00.1"] and gpu.bridges == ("0000:00:01.0",)


def test_the_whole_group_but_its_bridge_moves(tree: Path) -> None:
    assert group_functions(FakeKernel(tree), ["0000:01:00.0"]) == CARD


def test_bind_and_restore_round_trip_and_binding_twice_changes_nothing(tree: Path) -> None:
    kernel = FakeKernel(tree)
    originals = kernel.bind_to_vfio(CARD)
    assert originals == {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}
    assert drivers(kernel) == ["vfio-pci", "vfio-pci"]
    assert kernel.bind_to_vfio(CARD) == {a: "vfio-pci" for a in CARD}
    kernel.restore_drivers(originals)
    assert drivers(kernel) == ["nvidia", "snd_hda_intel"] and overrides(tree) == ["(null)", "(null)"]


def test_a_hanging_unbind_is_cut_off_and_the_override_undone(tree: Path) -> None:
    kernel = FakeKernel(tree, Faults(unbind_hangs={"0000:01:00.0"}), write_timeout_s=0.3)
    with pytest.raises(SysfsError, match="did not finish within 0.3s; the device may be in use"):
        kernel.bind_to_vfio(CARD)
    assert overrides(tree) == ["(null)", "(null)"]


def test_a_busy_device_is_named(tree: Path) -> None:
    kernel = FakeKernel(tree, Faults(busy={"0000:01:00.1"}))
    with pytest.raises(SysfsError, match="unbind failed: Device or resource busy"):
        kernel.bind_to_vfio(CARD)
    assert drivers(kernel) == ["nvidia", "snd_hda_intel"]


def test_a_device_that_is_not_there_is_named(tree: Path) -> None:
    with pytest.raises(SysfsError, match="PCI device 0000:09:00.0 is not on this host"):
        FakeKernel(tree).bind_to_vfio(["0000:09:00.0"])
