"""Steps for features/host_readiness.feature: each scenario gets its own fake host."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import yaml
from pytest_bdd import given, parsers, scenarios, then, when

import ai_how.app.bootstrap as bootstrap
from tests.conftest import REPO
from tests.fakes.sysfs import EXAMPLE_HOST, FakeKernel, Faults, build_tree

scenarios("host_readiness.feature")


def _use_host(monkeypatch, tmp_path: Path, faults: Faults, changes: dict[str, dict] | None = None,
              **tree) -> FakeKernel:
    devices = [dataclasses.replace(d, **(changes or {}).get(d.address, {})) for d in EXAMPLE_HOST]
    host = FakeKernel(build_tree(tmp_path / "scenario-host", devices, **tree), faults)
    monkeypatch.setattr(bootstrap, "sysfs_host", lambda env: host)
    return host


@given("a host with the example's cards on their usual drivers", target_fixture="fake_host")
def usual_host(monkeypatch, tmp_path: Path, host_faults: Faults) -> FakeKernel:
    return _use_host(monkeypatch, tmp_path, host_faults)


@given(parsers.parse('a host with the example\'s cards whose Intel CPU has "{flags}" and kvm_intel nested={nested}'),
       target_fixture="fake_host")
def cpu_of(monkeypatch, tmp_path: Path, host_faults: Faults, flags: str, nested: str) -> FakeKernel:
    host = _use_host(monkeypatch, tmp_path, host_faults)
    (host.root / "proc/cpuinfo").write_text(f"vendor_id\t: GenuineIntel\nflags\t\t: {flags}\n")
    (host.root / "sys/module/kvm_intel/parameters").mkdir(parents=True)
    (host.root / "sys/module/kvm_intel/parameters/nested").write_text(f"{nested}\n")
    return host


@given("a host with the example's cards and the IOMMU off", target_fixture="fake_host")
def iommu_off(monkeypatch, tmp_path: Path, host_faults: Faults) -> FakeKernel:
    return _use_host(monkeypatch, tmp_path, host_faults, iommu=False)


@given(parsers.parse("a host with the example's cards and {address} on nouveau"), target_fixture="fake_host")
def on_nouveau(monkeypatch, tmp_path: Path, host_faults: Faults, address: str) -> FakeKernel:
    return _use_host(monkeypatch, tmp_path, host_faults, {address: {"driver": "nouveau"}})


@given(parsers.parse("a host with the example's cards and {address} driving the console without a reset method"),
       target_fixture="fake_host")
def console_card(monkeypatch, tmp_path: Path, host_faults: Faults, address: str) -> FakeKernel:
    return _use_host(monkeypatch, tmp_path, host_faults, {address: {"boot_vga": True, "reset_method": ""}})


@given(parsers.parse('the config "{path}" without the audio function of {vm}'))
def without_audio(tmp_path: Path, config_path: list[str], path: str, vm: str) -> None:
    doc = yaml.safe_load((REPO / path).read_text())
    del doc["clusters"]["cloud"]  # keep the config valid: nothing else lists the audio function
    node = doc["clusters"]["hpc"]["compute_nodes"][int(vm.rsplit("-", 1)[1]) - 1]
    node["pcie_passthrough"]["devices"] = [d for d in node["pcie_passthrough"]["devices"] if d["device_type"] != "audio"]
    target = tmp_path / "cluster.yaml"
    target.write_text(yaml.safe_dump(doc))
    config_path.append(str(target))


@given(parsers.parse("the kernel will refuse to bind {address} to vfio-pci"))
def refuse_bind(host_faults: Faults, address: str) -> None:
    host_faults.bind_fails.add(address)


@given(parsers.parse("the kernel will refuse to unbind {address} from vfio-pci"))
def refuse_unbind(host_faults: Faults, address: str) -> None:
    host_faults.busy.add(address)


@when("the device is no longer busy")
def not_busy(host_faults: Faults) -> None:
    host_faults.busy.clear()


@then(parsers.parse('the inventory lists {address} as "{model}" in IOMMU group {group:d} with companion {companion}'))
def inventory_lists(result, address: str, model: str, group: int, companion: str) -> None:
    gpu = next(g for g in json.loads(result.stdout) if g["address"] == address)
    assert (gpu["model"], gpu["iommu_group"]) == (model, group)
    assert [c["address"] for c in gpu["companions"]] == [companion]
    assert gpu["bridges"] == ["0000:00:01.0"]


@then(parsers.parse("on the host {first} and {second} are bound to vfio-pci"))
def both_on_vfio(fake_host: FakeKernel, first: str, second: str) -> None:
    assert [fake_host.function(a).driver for a in (first, second)] == ["vfio-pci", "vfio-pci"]


@then(parsers.parse("on the host {first} is bound to {first_driver} and {second} to {second_driver}"))
def back_on_host(fake_host: FakeKernel, first: str, first_driver: str, second: str, second_driver: str) -> None:
    assert [fake_host.function(a).driver for a in (first, second)] == [first_driver, second_driver]
