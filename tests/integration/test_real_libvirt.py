"""The minimal example on a real libvirtd with QEMU, driven through the CLI as a user would:
start, VMs running in virsh, vm stop/start, cluster stop, destroy leaving nothing behind.

Needs root and a running libvirtd (scripts/libvirt-up.sh). Skipped when there is none,
unless AI_HOW_REQUIRE_LIBVIRTD=1 (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import states, virsh

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


def test_minimal_cluster_lifecycle_on_qemu(cluster: dict, ai_how) -> None:
    name, config, vms = cluster["name"], cluster["config"], cluster["vms"]

    ai_how("hpc", "start", config)
    assert set(vms) <= set(virsh("list", "--name").split())
    assert states(vms) == {vm: "running" for vm in vms}
    assert f"aihowit{cluster['tag']}" in virsh("net-info", f"aihow-{name}")

    ai_how("vm", "stop", vms[1], "--timeout", "2")
    assert states(vms)[vms[1]] == "shut off"
    ai_how("vm", "start", vms[1])
    assert states(vms)[vms[1]] == "running"

    status = ai_how("hpc", "status", config, "--json").stdout
    assert '"overall": "running"' in status

    ai_how("hpc", "stop", config, "--timeout", "2")
    assert states(vms) == {vm: "shut off" for vm in vms}

    ai_how("hpc", "destroy", config, "--yes", "--timeout", "2")
    assert not set(vms) & set(virsh("list", "--all", "--name").split())
    assert f"aihow-{name}" not in virsh("net-list", "--all", "--name").split()
    assert f"aihow-{name}" not in virsh("pool-list", "--all", "--name").split()
    assert not Path(f"/var/lib/libvirt/images/ai-how-tests/{name}").exists()


def test_hugepages_back_the_vms_memory_and_a_start_they_do_not_fit_is_refused(cluster: dict, ai_how) -> None:
    """The firmware-only example with performance.enable_hugepages (2M): with too few reserved
    the start is refused and nothing is defined; with enough, QEMU takes each VM's memory from
    the pool (512 MiB = 256 pages each) and the destroy gives it back. The test reserves the
    pages and gives them back."""
    import yaml

    config, vms = cluster["config"], cluster["vms"]
    doc = yaml.safe_load(Path(config).read_text())
    doc["clusters"]["hpc"]["hardware"] = {"acceleration": {"performance": {"enable_hugepages": True,
                                                                          "hugepage_size": "2M"}}}
    Path(config).write_text(yaml.safe_dump(doc))
    pool = Path("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")
    free = pool.parent / "free_hugepages"
    before = int(pool.read_text())
    try:
        pool.write_text(str(before + 256))
        refused = ai_how("hpc", "start", config, expect=1)
        assert "768 pages of 2 MiB for" in refused.stderr and "nothing was started" in refused.stderr, refused.stderr
        assert not set(vms) & set(virsh("list", "--all", "--name").split())

        pool.write_text(str(before + 768))
        assert int(pool.read_text()) == before + 768, "the kernel could not reserve the pages"
        free_before = int(free.read_text())
        ai_how("hpc", "start", config)
        assert states(vms) == {vm: "running" for vm in vms}
        assert free_before - int(free.read_text()) == 768
        assert "<hugepages>" in virsh("dumpxml", vms[0])
        ai_how("hpc", "destroy", config, "--yes", "--timeout", "2")
        assert int(free.read_text()) == free_before
    finally:
        pool.write_text(str(before))


def test_pinned_vcpus_each_get_a_host_cpu_and_a_vm_that_cannot_fit_is_refused(cluster: dict, ai_how) -> None:
    """The firmware-only example with performance.cpu_pinning, each VM given half this host's
    CPUs: the three together do not fit, so the start is refused and nothing is defined. With
    the last left off, the two run pinned to CPUs of their own (libvirt's live affinity), their
    emulators off their vCPUs' CPUs where any are left; the third's start is refused naming
    both; once one stops, the third runs on the CPUs it gave back."""
    import libvirt
    import yaml

    from .conftest import URI

    config, vms = cluster["config"], cluster["vms"]
    host = libvirt.open(URI)
    cpus = host.getInfo()[2]
    half = max(1, cpus // 2)
    doc = yaml.safe_load(Path(config).read_text())
    hpc = doc["clusters"]["hpc"]
    hpc["hardware"] = {"acceleration": {"performance": {"cpu_pinning": True}}}
    for vm in [hpc["controller"], *hpc["compute_nodes"]]:
        vm["cpu_cores"] = half
    Path(config).write_text(yaml.safe_dump(doc))

    refused = ai_how("hpc", "start", config, expect=1)
    assert f"{vms[2]} pins {half} vCPUs, but only 0 of this host's {cpus} CPUs are free" in refused.stderr, \
        refused.stderr
    assert not set(vms) & set(virsh("list", "--all", "--name").split())

    hpc["compute_nodes"][1]["auto_start"] = False
    Path(config).write_text(yaml.safe_dump(doc))
    ai_how("hpc", "start", config)

    def affinity(name: str) -> tuple[set[int], set[int]]:
        dom = host.lookupByName(name)
        pinned = {c for vcpu in dom.vcpuPinInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE) for c, on in enumerate(vcpu) if on}
        return pinned, {c for c, on in enumerate(dom.emulatorPinInfo(libvirt.VIR_DOMAIN_AFFECT_LIVE)) if on}

    first, second = affinity(vms[0]), affinity(vms[1])
    assert len(first[0]) == len(second[0]) == half and not first[0] & second[0], (first, second)
    assert not first[1] & first[0] or cpus < 2 * half + 1, first
    shown = ai_how("vm", "status", vms[0]).stdout
    assert "pinned: vCPUs on host CPUs" in shown, shown

    third = ai_how("vm", "start", vms[2], expect=1)
    assert f"{vms[0]} (" in third.stderr and f"{vms[1]} (" in third.stderr and "hold the others" in third.stderr
    assert states([vms[2]])[vms[2]] == "shut off"

    ai_how("vm", "stop", vms[1], "--timeout", "2")
    ai_how("vm", "start", vms[2])
    assert affinity(vms[2])[0] == second[0]
    ai_how("hpc", "destroy", config, "--yes", "--timeout", "2")
