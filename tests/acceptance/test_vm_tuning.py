"""Steps for features/vm_tuning.feature: the real CLI, bus and libvirt adapter on libvirt's
test driver, whose host has no hugepage pool: the scenario's pool stands in for the kernel's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from pytest_bdd import given, parsers, scenarios, then

from ai_how.adapters.libvirt import LibvirtHypervisor

scenarios("vm_tuning.feature")


class HugepageHost(LibvirtHypervisor):
    """The real adapter, on a host whose free hugepages are the scenario's."""

    free: dict[int, int] = {}

    def free_hugepages(self) -> dict[int, int]:
        return dict(self.free)


@given(parsers.parse("its VMs' memory backed by {size} hugepages"))
def backed_by(config_path: list[str], size: str) -> None:
    path = Path(config_path[-1])
    doc = yaml.safe_load(path.read_text())
    doc["clusters"]["hpc"].setdefault("hardware", {})["acceleration"] = {
        "performance": {"enable_hugepages": True, "hugepage_size": size}}
    path.write_text(yaml.safe_dump(doc))


@given(parsers.parse("its controller's memory set to {gb:g} GiB"))
def controller_memory(config_path: list[str], gb: float) -> None:
    path = Path(config_path[-1])
    doc = yaml.safe_load(path.read_text())
    doc["clusters"]["hpc"]["controller"]["memory_gb"] = gb
    path.write_text(yaml.safe_dump(doc))


@given(parsers.parse("the host has {count:d} free hugepages of {kib:d} KiB"))
def free_pages(monkeypatch, count: int, kib: int) -> None:
    import ai_how.app.bootstrap as bootstrap

    monkeypatch.setattr(HugepageHost, "free", {kib: count})
    monkeypatch.setattr(bootstrap, "libvirt_hypervisor", lambda uri, state_dir, env: HugepageHost(uri, state_dir / "pools"))


@then(parsers.parse("the domain {name}'s memory is backed by hugepages of {kib:d} KiB"))
def backed(libvirt_uri: str, name: str, kib: int) -> None:
    root = ET.fromstring(LibvirtHypervisor(libvirt_uri, Path("/unused")).conn.lookupByName(name).XMLDesc())
    page = root.find("./memoryBacking/hugepages/page")
    assert page is not None and (page.get("size"), page.get("unit")) == (str(kib), "KiB")
    assert root.find("./memoryBacking/source").get("type") == "memfd"
