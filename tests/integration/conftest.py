"""Fixtures for the tests that drive a real libvirtd with QEMU through the CLI."""

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
    doc = yaml.safe_load((REPO / "examples" / "minimal-firmware.yaml").read_text())
    hpc = doc["clusters"]["hpc"]
    hpc["name"] = f"it-{tag}"
    hpc["network"] = {"subnet": f"10.{octet}.7.0/24", "bridge": f"aihowit{tag}", "forward": "none"}
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


# Built images outside the clone, named by their recipe's digest: a second CI run on the same
# machine (or a developer's next run) finds the image built and records it without building.
IMAGE_DIR = os.environ.get("AI_HOW_TEST_IMAGE_DIR", "/var/cache/ai-how/images")


@pytest.fixture
def ai_how(tmp_path: Path):
    # TCG unless told otherwise: on nested hosts a KVM guest can die by itself seconds after it
    # runs (QEMU's CPU model claims features the host lacks; libvirt logs reason=crashed),
    # which these tests would read as ai-how losing track of it. The KVM profiles and their
    # fallbacks have their own tests (tests/unit/test_start_profiles.py).
    env = {**os.environ, "AI_HOW_STATE_DIR": str(tmp_path / "state"), "AI_HOW_LIBVIRT_URI": URI,
           "AI_HOW_POOL_ROOT": "/var/lib/libvirt/images/ai-how-tests", "AI_HOW_IMAGE_DIR": IMAGE_DIR,
           "AI_HOW_DOMAIN_TYPE": os.environ.get("AI_HOW_DOMAIN_TYPE", "qemu")}

    def run(*args: str, expect: int = 0, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        out = subprocess.run([str(Path(sys.executable).parent / "ai-how"), *args], env={**env, **(extra_env or {})},
                             capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
        assert out.returncode == expect, f"ai-how {' '.join(args)} -> {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    return run


def states(names: list[str]) -> dict[str, str]:
    return {name: virsh("domstate", name).strip() for name in names}
