"""Every generated libvirt XML passes libvirt's own schema (virt-xml-validate)."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ai_how.adapters.libvirt.xml import (
    ROLE_TEMPLATES,
    mac_address,
    render_domain,
    render_network,
    render_pool,
    render_volume,
)
from ai_how.app.config.loader import load_config
from ai_how.app.config.plan import plan_clusters
from tests.conftest import REPO, require_tool


@pytest.fixture(autouse=True)
def _validator() -> None:
    require_tool("virt-xml-validate", "Debian's libvirt-clients")


EXAMPLE_VMS = [(c, vm.plan) for example in sorted((REPO / "examples").glob("*.yaml"))
               for c in plan_clusters(load_config(example)) for vm in c.vms]


def validate(tmp_path: Path, kind: str, xml: str) -> None:
    target = tmp_path / f"{kind}.xml"
    target.write_text(xml)
    out = subprocess.run(["virt-xml-validate", str(target), kind], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr + xml


@pytest.mark.parametrize("cluster, vm", EXAMPLE_VMS, ids=[vm.name for _, vm in EXAMPLE_VMS])
@pytest.mark.parametrize("domain_type", ["kvm", "qemu"])
def test_every_example_vm_renders_valid_domain_xml(tmp_path: Path, cluster, vm, domain_type: str) -> None:
    validate(tmp_path, "domain", render_domain(vm, f"/pool/{vm.name}.qcow2", domain_type))


def test_every_role_template_is_used_by_the_examples() -> None:
    assert {vm.role for _, vm in EXAMPLE_VMS} == set(ROLE_TEMPLATES)


def test_a_gpu_and_its_audio_function_stay_one_multifunction_device() -> None:
    vm = next(vm for _, vm in EXAMPLE_VMS if vm.name == "hpc-cluster-compute-01")
    root = ET.fromstring(render_domain(vm, "/pool/disk.qcow2", "kvm", managed="no"))
    hostdevs = root.findall("./devices/hostdev")
    sources = [h.find("source/address").attrib for h in hostdevs]
    guests = [h.find("address").attrib for h in hostdevs]
    assert [(s["bus"], s["slot"], s["function"]) for s in sources] == [("0x01", "0x00", "0x0"), ("0x01", "0x00", "0x1")]
    assert {g["bus"] for g in guests} == {"0x10"} and [g["function"] for g in guests] == ["0x0", "0x1"]
    assert guests[0]["multifunction"] == "on"
    assert {h.get("managed") for h in hostdevs} == {"no"}
    assert root.find("./devices/controller[@index='16']").get("model") == "pcie-root-port"


@pytest.mark.parametrize("cluster", {c.name: c for c, _ in EXAMPLE_VMS}.values(), ids=lambda c: c.name)
def test_every_example_network_is_valid_and_binds_each_vm(tmp_path: Path, cluster) -> None:
    xml = render_network(cluster.name, cluster.plan.network, list(cluster.plan.vms))
    validate(tmp_path, "network", xml)
    hosts = {h.get("name"): (h.get("mac"), h.get("ip")) for h in ET.fromstring(xml).iter("host")}
    assert hosts == {vm.name: (mac_address(vm.name), vm.spec.ip) for vm in cluster.plan.vms}


def test_pool_and_volume_xml_are_valid(tmp_path: Path) -> None:
    validate(tmp_path, "storagepool", render_pool("aihow-c", "/var/lib/libvirt/images/ai-how/c"))
    validate(tmp_path, "storagevol", render_volume("vm.qcow2", 20, "/images/base.qcow2", "qcow2"))
    validate(tmp_path, "storagevol", render_volume("vm.qcow2", 20, None, None))


def test_macs_are_stable_and_distinct() -> None:
    assert mac_address("a") == mac_address("a") != mac_address("b")
    assert mac_address("a").startswith("52:54:00:")


def test_the_predecessor_s_cluster_topology_is_a_shape_each_vm_takes_with_its_own_cores(tmp_path: Path) -> None:
    """sockets 1 × 4 cores × 1 thread on a 4-vCPU controller and 8-vCPU computes: each VM keeps
    one socket and one thread per core, and gets its vCPUs as cores; the XML validates."""
    vms = {vm.plan.name: vm.plan for c in plan_clusters(load_config(REPO / "tests/data/predecessor-shaped.yaml"))
           for vm in c.vms}
    shapes = {}
    for name in ("hpc-cluster-controller", "hpc-cluster-compute-01"):
        xml = render_domain(vms[name], f"/pool/{name}.qcow2", "kvm")
        validate(tmp_path, "domain", xml)
        shapes[name] = ET.fromstring(xml).find("./cpu/topology").attrib
    assert shapes == {"hpc-cluster-controller": {"sockets": "1", "dies": "1", "cores": "4", "threads": "1"},
                      "hpc-cluster-compute-01": {"sockets": "1", "dies": "1", "cores": "8", "threads": "1"}}


INTEL = frozenset({"vmx", "sse4_2", "avx2", "tsc_deadline_timer"})


def test_a_pinned_hugepage_backed_gpu_vm_of_the_predecessor_s_shape_validates(tmp_path: Path) -> None:
    """The predecessor's compute (host-passthrough, +vmx +svm +sse4.2 +avx2, a GPU) pinned on its
    GPU's NUMA node and backed by 2 MiB hugepages, on an Intel host: the features this CPU has are
    required, +svm (AMD's) is left out and said so; each vCPU has its own host CPU, the emulator
    runs off them, the memory stays on the GPU's node."""
    from dataclasses import replace

    from ai_how.adapters.libvirt.xml import cpu_features
    from ai_how.domain.cpus import choose

    vm = next(vm.plan for c in plan_clusters(load_config(REPO / "tests/data/predecessor-shaped.yaml"))
              for vm in c.vms if vm.name == "hpc-cluster-compute-01")
    assert vm.spec.cpu_pinning
    pins = choose(vm.name, vm.spec.cpu_cores, {0: list(range(16)), 1: list(range(16, 32))}, {"other": (31, 30)}, 1)
    vm = replace(vm, spec=replace(vm.spec, hugepages_kib=2048), pins=pins)
    xml = render_domain(vm, f"/pool/{vm.name}.qcow2", "kvm", cpu_mode="host-passthrough", host_flags=INTEL)
    validate(tmp_path, "domain", xml)
    root = ET.fromstring(xml)
    features = {f.get("name"): f.get("policy") for f in root.findall("./cpu/feature")}
    assert features == {"vmx": "require", "sse4.2": "require", "avx2": "require"}
    assert cpu_features(vm, "kvm", "host-passthrough", INTEL)[1] == ["+svm (this host's CPU lacks it)"]
    vcpus = [int(p.get("cpuset")) for p in root.findall("./cputune/vcpupin")]
    assert vcpus == list(range(29, 21, -1)) and [int(p.get("vcpu")) for p in root.findall("./cputune/vcpupin")] == \
        list(range(8))
    assert root.find("./cputune/emulatorpin").get("cpuset") == "0-21"
    assert root.find("./numatune/memory").attrib == {"mode": "preferred", "nodeset": "1"}
    assert root.find("./memoryBacking/hugepages/page").attrib == {"size": "2048", "unit": "KiB"}


def test_under_tcg_no_feature_is_asked_for_and_each_is_said_left_out(tmp_path: Path) -> None:
    from dataclasses import replace

    from ai_how.adapters.libvirt.xml import cpu_features
    from ai_how.domain.specs import Acceleration

    vm = EXAMPLE_VMS[0][1]
    vm = replace(vm, spec=replace(vm.spec, acceleration=Acceleration(features=("+avx2", "-svm"), nested=True)))
    xml = render_domain(vm, "/pool/x.qcow2", "qemu", host_flags=INTEL)
    validate(tmp_path, "domain", xml)
    assert ET.fromstring(xml).find("./cpu") is None
    assert cpu_features(vm, "qemu", None, INTEL)[1] == [
        "+avx2 (TCG emulates a CPU of its own)", "-svm (TCG emulates a CPU of its own)",
        "+vmx (TCG emulates a CPU of its own)"]
    nested = render_domain(vm, "/pool/x.qcow2", "kvm", cpu_mode="host-model", host_flags=INTEL)
    validate(tmp_path, "domain", nested)
    assert {f.get("name"): f.get("policy") for f in ET.fromstring(nested).findall("./cpu/feature")} == {
        "avx2": "require", "svm": "disable", "vmx": "require"}


def test_guest_numa_cells_validate(tmp_path: Path) -> None:
    from dataclasses import replace

    from ai_how.domain.specs import NumaCellSpec

    vm = EXAMPLE_VMS[0][1]
    cells = (NumaCellSpec("0", 512 * 1024), NumaCellSpec("1", 512 * 1024))
    vm = replace(vm, spec=replace(vm.spec, cpu_cores=2, memory_gb=1, numa_cells=cells))
    xml = render_domain(vm, "/pool/x.qcow2", "qemu")
    validate(tmp_path, "domain", xml)
    assert [c.attrib for c in ET.fromstring(xml).findall("./cpu/numa/cell")] == [
        {"id": "0", "cpus": "0", "memory": "524288", "unit": "KiB"}, {"id": "1", "cpus": "1", "memory": "524288", "unit": "KiB"}]
