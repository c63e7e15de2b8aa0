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
