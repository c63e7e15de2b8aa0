"""The minimal example on a real libvirtd with QEMU, driven through the CLI as a user would:
start, VMs running in virsh, vm stop/start, cluster stop, destroy leaving nothing behind.

Needs root and a running libvirtd (scripts/libvirt-up.sh). Skipped when there is none,
unless AI_HOW_REQUIRE_LIBVIRTD=1 (set by .ci/run), where that is a failure.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

URI = "qemu:///system"
pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


def virsh(*args: str) -> str:
    out = subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True)
    return out.stdout


@pytest.fixture(scope="module")
def libvirtd() -> None:
    try:
        ok = subprocess.run(["virsh", "-c", URI, "version"], capture_output=True, timeout=30).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        if os.environ.get("AI_HOW_REQUIRE_LIBVIRTD"):
            pytest.fail("no libvirtd answers on qemu:///system; run scripts/libvirt-up.sh")
        pytest.skip("no libvirtd on qemu:///system (run scripts/libvirt-up.sh as root)")


@pytest.fixture
def cluster(tmp_path: Path, libvirtd) -> dict:
    """The minimal example under a name, bridge and subnet of this test run alone."""
    tag = secrets.token_hex(2)
    octet = 200 + int(tag, 16) % 50
    doc = yaml.safe_load((REPO / "examples" / "minimal.yaml").read_text())
    hpc = doc["clusters"]["hpc"]
    hpc["name"] = f"it-{tag}"
    hpc["network"] = {"subnet": f"10.{octet}.7.0/24", "bridge": f"aihowit{tag}"}
    for i, vm in enumerate([hpc["controller"], *hpc["compute_nodes"]]):
        vm["ip"] = f"10.{octet}.7.{10 + i}"
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml.safe_dump(doc))
    names = [f"it-{tag}-controller", f"it-{tag}-compute-01", f"it-{tag}-compute-02"]
    info = {"name": hpc["name"], "config": str(config), "vms": names, "tag": tag}
    yield info
    for name in names:  # whatever a failed run left behind
        virsh("destroy", name)
        virsh("undefine", name)
    virsh("net-destroy", f"aihow-{hpc['name']}")
    virsh("net-undefine", f"aihow-{hpc['name']}")
    for volume in names:
        virsh("vol-delete", "--pool", f"aihow-{hpc['name']}", f"{volume}.qcow2")
    virsh("pool-destroy", f"aihow-{hpc['name']}")
    virsh("pool-delete", f"aihow-{hpc['name']}")
    virsh("pool-undefine", f"aihow-{hpc['name']}")


@pytest.fixture
def ai_how(tmp_path: Path):
    env = {**os.environ, "AI_HOW_STATE_DIR": str(tmp_path / "state"), "AI_HOW_LIBVIRT_URI": URI,
           "AI_HOW_POOL_ROOT": "/var/lib/libvirt/images/ai-how-tests"}

    def run(*args: str) -> subprocess.CompletedProcess:
        out = subprocess.run([str(Path(sys.executable).parent / "ai-how"), *args], env=env, capture_output=True,
                             text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, f"ai-how {' '.join(args)} -> {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    return run


def states(names: list[str]) -> dict[str, str]:
    return {name: virsh("domstate", name).strip() for name in names}


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
