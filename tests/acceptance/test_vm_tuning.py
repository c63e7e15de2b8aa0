"""Steps for features/vm_tuning.feature and cpu_pinning.feature: the real CLI, bus and libvirt
adapter on libvirt's test driver, whose host has no hugepage pool and one NUMA node: the
scenario's pool and CPU layout stand in for the kernel's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from pytest_bdd import given, parsers, scenarios, then

from ai_how.adapters.libvirt import LibvirtHypervisor

scenarios("vm_tuning.feature", "cpu_pinning.feature")


class TunedHost(LibvirtHypervisor):
    """The real adapter, on a host whose free hugepages and CPU layout are the scenario's."""

    free: dict[int, int] | None = None
    layout: dict[int, list[int]] | None = None

    def free_hugepages(self) -> dict[int, int]:
        return dict(self.free) if self.free is not None else super().free_hugepages()

    def host_cpu_layout(self) -> dict[int, list[int]]:
        return dict(self.layout) if self.layout is not None else super().host_cpu_layout()


def _tuned(monkeypatch, **host: object) -> None:
    import ai_how.app.bootstrap as bootstrap

    for name, value in host.items():
        monkeypatch.setattr(TunedHost, name, value)
    monkeypatch.setattr(bootstrap, "libvirt_hypervisor", lambda uri, state_dir, env: TunedHost(uri, state_dir / "pools"))


def _edit(config_path: list[str], change) -> None:
    path = Path(config_path[-1])
    doc = yaml.safe_load(path.read_text())
    change(doc["clusters"]["hpc"])
    path.write_text(yaml.safe_dump(doc))


@given(parsers.parse("its VMs' memory backed by {size} hugepages"))
def backed_by(config_path: list[str], size: str) -> None:
    _edit(config_path, lambda hpc: hpc.setdefault("hardware", {}).setdefault("acceleration", {}).setdefault(
        "performance", {}).update(enable_hugepages=True, hugepage_size=size))


@given(parsers.parse("its controller's memory set to {gb:g} GiB"))
def controller_memory(config_path: list[str], gb: float) -> None:
    _edit(config_path, lambda hpc: hpc["controller"].update(memory_gb=gb))


@given(parsers.parse("the host has {count:d} free hugepages of {kib:d} KiB"))
def free_pages(monkeypatch, count: int, kib: int) -> None:
    _tuned(monkeypatch, free={kib: count})


@given("its VMs' vCPUs pinned")
def pinned(config_path: list[str]) -> None:
    _edit(config_path, lambda hpc: hpc.setdefault("hardware", {}).setdefault("acceleration", {}).setdefault(
        "performance", {}).update(cpu_pinning=True))


@given(parsers.parse("its controller's vCPUs set to {count:d}"))
def controller_vcpus(config_path: list[str], count: int) -> None:
    _edit(config_path, lambda hpc: hpc["controller"].update(cpu_cores=count))


@given(parsers.parse('its item "clusters.hpc.compute_nodes[{index:d}]" set to start by hand'))
def by_hand(config_path: list[str], index: int) -> None:
    _edit(config_path, lambda hpc: hpc["compute_nodes"][index].update(auto_start=False))


@given(parsers.parse("the host's CPUs are {cells}"))
def cpu_layout(monkeypatch, cells: str) -> None:
    layout = {}
    for cell in cells.split(" and "):
        span, node = cell.split(" on NUMA node ")
        first, _, last = span.partition("-")
        layout[int(node)] = list(range(int(first), int(last or first) + 1))
    _tuned(monkeypatch, layout=layout)


@given(parsers.parse("GPU {address} sits on NUMA node {node:d}"))
def gpu_node(fake_host, address: str, node: int) -> None:
    (fake_host.root / "sys/bus/pci/devices" / address / "numa_node").write_text(f"{node}\n")


def _pins(libvirt_uri: str, name: str) -> tuple[list[int], list[int], str | None]:
    root = ET.fromstring(LibvirtHypervisor(libvirt_uri, Path("/unused")).conn.lookupByName(name).XMLDesc())
    vcpus = [int(pin.get("cpuset")) for pin in root.findall("./cputune/vcpupin")]
    emulator = root.find("./cputune/emulatorpin")
    cpus: list[int] = []
    for part in (emulator.get("cpuset") if emulator is not None else "").split(","):
        if part:
            first, _, last = part.partition("-")
            cpus += range(int(first), int(last or first) + 1)
    memory = root.find("./numatune/memory")
    return vcpus, cpus, memory.get("nodeset") if memory is not None else None


@then(parsers.parse("no two domains of {cluster} have a vCPU on the same host CPU, nor an emulator on one of their own"))
def apart(libvirt_uri: str, cluster: str) -> None:
    conn = LibvirtHypervisor(libvirt_uri, Path("/unused")).conn
    names = [d.name() for d in conn.listAllDomains(0) if d.name().startswith(f"{cluster}-")]
    held: list[int] = []
    for name in names:
        vcpus, emulator, _ = _pins(libvirt_uri, name)
        assert vcpus and emulator and not set(vcpus) & set(emulator), (name, vcpus, emulator)
        held += vcpus
    assert len(names) == 3 and len(held) == len(set(held)), held


@then(parsers.parse("the domain {name}'s vCPUs are pinned within host CPUs {first:d}-{last:d} and its memory to "
                    "NUMA node {node}"))
def on_node(libvirt_uri: str, name: str, first: int, last: int, node: str) -> None:
    vcpus, _, memory = _pins(libvirt_uri, name)
    assert len(vcpus) == 8 and all(first <= c <= last for c in vcpus) and memory == node, (vcpus, memory)


@then(parsers.parse('"ai-how {args}" says "{text}"'))
def says(run_cli, args: str, text: str) -> None:
    result = run_cli(*args.split())
    assert result.exit_code == 0 and text in result.stdout, result.stdout + result.stderr


@then(parsers.parse('"ai-how {args}" does not say "{text}"'))
def does_not_say(run_cli, args: str, text: str) -> None:
    result = run_cli(*args.split())
    assert result.exit_code == 0 and text not in result.stdout, result.stdout + result.stderr


@then(parsers.parse("the audit log records {first} {times:d} times and {second} {again:d} times"))
def recorded(run_cli, first: str, times: int, second: str, again: int) -> None:
    import json

    kinds = [json.loads(line)["type"] for line in run_cli("audit", "log", "--json").stdout.splitlines()]
    assert (kinds.count(first), kinds.count(second)) == (times, again), kinds


@then(parsers.parse("the domain {name}'s memory is backed by hugepages of {kib:d} KiB"))
def backed(libvirt_uri: str, name: str, kib: int) -> None:
    root = ET.fromstring(LibvirtHypervisor(libvirt_uri, Path("/unused")).conn.lookupByName(name).XMLDesc())
    page = root.find("./memoryBacking/hugepages/page")
    assert page is not None and (page.get("size"), page.get("unit")) == (str(kib), "KiB")
    assert root.find("./memoryBacking/source").get("type") == "memfd"
