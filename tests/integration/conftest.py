"""Fixtures for the tests that drive a real libvirtd with QEMU through the CLI, and the one
booted cluster of real Debian guests that every real-guest test shares."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

URI = "qemu:///system"


def virsh(*args: str) -> str:
    out = subprocess.run(["virsh", "-c", URI, *args], capture_output=True, text=True)
    return out.stdout


@pytest.fixture(scope="session")
def libvirtd() -> None:
    try:
        ok = subprocess.run(["virsh", "-c", URI, "version"], capture_output=True, timeout=30).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        if os.environ.get("AI_HOW_REQUIRE_LIBVIRTD"):
            pytest.fail("no libvirtd answers on qemu:///system; run scripts/libvirt-up.sh")
        pytest.skip("no libvirtd on qemu:///system (run scripts/libvirt-up.sh as root)")


def isolated_example(example: str, prefix: str, third_octet: int) -> tuple[dict, dict]:
    """An example config under a name, bridge and subnet of this test run alone, on an isolated
    network: (the document, its hpc section with ``vms``: the VMs' names in order)."""
    tag = secrets.token_hex(2)
    octet = 200 + int(tag, 16) % 50
    doc = yaml.safe_load((REPO / "examples" / example).read_text())
    hpc = doc["clusters"]["hpc"]
    hpc["name"] = f"{prefix}-{tag}"
    hpc["network"] = {"subnet": f"10.{octet}.{third_octet}.0/24", "bridge": f"aihow{prefix}{tag}", "forward": "none"}
    for i, vm in enumerate([hpc["controller"], *hpc["compute_nodes"]]):
        vm["ip"] = f"10.{octet}.{third_octet}.{10 + i}"
    names = [f"{hpc['name']}-controller"] + [f"{hpc['name']}-compute-{i + 1:02d}" for i in range(len(hpc["compute_nodes"]))]
    return doc, {"name": hpc["name"], "vms": names, "tag": tag, "section": hpc}


def remove_leftovers(cluster: str, names: list[str]) -> None:
    """Whatever a failed run left behind in libvirt."""
    for name in names:
        virsh("destroy", name)
        virsh("undefine", name)
    virsh("net-destroy", f"aihow-{cluster}")
    virsh("net-undefine", f"aihow-{cluster}")
    for volume in names:
        virsh("vol-delete", "--pool", f"aihow-{cluster}", f"{volume}.qcow2")
    virsh("pool-destroy", f"aihow-{cluster}")
    virsh("pool-delete", f"aihow-{cluster}")
    virsh("pool-undefine", f"aihow-{cluster}")
    shutil.rmtree(POOL_ROOT / cluster, ignore_errors=True)  # seeds of a cluster never destroyed keep it
    shutil.rmtree(POOL_ROOT / "shared" / cluster, ignore_errors=True)  # destroy keeps the shared storage


@pytest.fixture
def cluster(tmp_path: Path, libvirtd) -> dict:
    """The firmware-only minimal example, isolated, under names of this test run alone."""
    doc, info = isolated_example("minimal-firmware.yaml", "it", 7)
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml.safe_dump(doc))
    yield {"name": info["name"], "config": str(config), "vms": info["vms"], "tag": info["tag"]}
    remove_leftovers(info["name"], info["vms"])


# Built images outside the clone, named by their recipe's digest: a second CI run on the same
# machine (or a developer's next run) finds the image built and records it without building.
IMAGE_DIR = os.environ.get("AI_HOW_TEST_IMAGE_DIR", "/var/cache/ai-how/images")


POOL_ROOT = Path("/var/lib/libvirt/images/ai-how-tests")
# Kubespray's venvs, like the images, outside the clone by the digest of their requirements.
KUBESPRAY_VENV_DIR = os.environ.get("AI_HOW_TEST_KUBESPRAY_VENV_DIR", "/var/cache/ai-how/kubespray")

Runner = Callable[..., subprocess.CompletedProcess]


def guest_env(state: Path) -> dict[str, str]:
    """The environment of an ai-how on ``state`` against the real libvirtd, with the caches."""
    # TCG unless told otherwise: on nested hosts a KVM guest can die by itself seconds after it
    # runs (QEMU's CPU model claims features the host lacks; libvirt logs reason=crashed),
    # which these tests would read as ai-how losing track of it. The KVM profiles and their
    # fallbacks have their own tests (tests/unit/test_start_profiles.py).
    env = {**os.environ, "AI_HOW_STATE_DIR": str(state), "AI_HOW_LIBVIRT_URI": URI,
           "AI_HOW_POOL_ROOT": str(POOL_ROOT), "AI_HOW_IMAGE_DIR": IMAGE_DIR,
           "AI_HOW_KUBESPRAY_VENV_DIR": KUBESPRAY_VENV_DIR,
           "AI_HOW_DOMAIN_TYPE": os.environ.get("AI_HOW_DOMAIN_TYPE", "qemu")}
    return env


def cli_runner(state: Path) -> Runner:
    """``run(*args)``: the installed ``ai-how`` in its own process, on ``state``, against the real
    libvirtd; asserts the exit code (``expect=None``: any)."""
    env = guest_env(state)

    def run(*args: str, expect: int | None = 0, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        out = subprocess.run([str(Path(sys.executable).parent / "ai-how"), *args], env={**env, **(extra_env or {})},
                             capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
        assert expect is None or out.returncode == expect, \
            f"ai-how {' '.join(args)} -> {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    return run


@pytest.fixture
def ai_how(tmp_path: Path) -> Runner:
    return cli_runner(tmp_path / "state")


@dataclass
class SharedCluster:
    """The booted cluster, what made it, and what its tests said through ai-how (for the
    checks that look for secrets in every output)."""

    name: str
    config: str
    bad_config: str
    vms: list[str]
    ips: list[str]
    shared: Path
    tag: str
    state: Path
    ai_how: Runner
    image: dict
    started: subprocess.CompletedProcess
    outputs: list[subprocess.CompletedProcess] = field(default_factory=list)

    @property
    def controller_ip(self) -> str:
        return self.ips[0]


@pytest.fixture(scope="session")
def shared_cluster(tmp_path_factory, libvirtd) -> SharedCluster:
    """examples/minimal.yaml's controller and two computes, real Debian guests on TCG and an
    isolated network, booted once for every real-guest test that can share them: the image built
    (or found in the cache by its recipe's digest), the first start profile dying as nested KVM
    does so that each guest falls back to TCG, the controller mounting a host directory
    read-only at /data and another at /work as the admin user's (owner, mode and options as the
    predecessor's virtio_fs_mounts write them), SLURM partitions batch and debug, and a snapshot
    of the running guests before each deploy that changes something (the newest one kept).

    A test that changes the cluster restores it, or is marked ``changes_shared_cluster`` (runs
    after the others); ``destroys_shared_cluster`` runs last of all."""
    base = tmp_path_factory.mktemp("shared-cluster")
    doc, info = isolated_example("minimal.yaml", "sc", 8)
    hpc = info["section"]
    shared = base / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text(f"written on the host {info['tag']}\n")
    (base / "work").mkdir()
    hpc["controller"]["virtio_fs_mounts"] = [{"tag": "data", "host_path": str(shared), "mount_point": "/data",
                                               "readonly": True},
                                              {"tag": "work", "host_path": str(base / "work"), "mount_point": "/work",
                                               "owner": "aihow", "group": "aihow", "mode": "0770", "options": "noatime"}]
    hpc["slurm_config"] = {"partitions": ["batch", "debug"], "default_partition": "batch",
                           "max_job_time": "02:00:00"}
    doc.setdefault("global", {})["snapshots"] = {"before": ["deploy"], "keep": 1}
    config = base / "cluster.yaml"
    config.write_text(yaml.safe_dump(doc))
    bad = json.loads(json.dumps(doc))
    bad["clusters"]["hpc"]["slurm_config"]["partitions"] = ["batch", {"name": "debug",
                                                                      "nodes": [f"{info['name']}-compute-09"]}]
    bad_config = base / "bad-partition.yaml"
    bad_config.write_text(yaml.safe_dump(bad))
    ips = [vm["ip"] for vm in [hpc["controller"], *hpc["compute_nodes"]]]
    run = cli_runner(base / "state")
    try:
        image = json.loads(run("image", "build", "hpc-base", "--json").stdout)
        # The first profile always dies a few seconds into the boot, as nested KVM does.
        started = run("hpc", "start", str(config), extra_env={"AI_HOW_START_PROFILES": "doomed,tcg"})
        yield SharedCluster(info["name"], str(config), str(bad_config), info["vms"], ips, shared, info["tag"],
                            base / "state", run, image, started)
    finally:
        remove_leftovers(info["name"], info["vms"])


def states(names: list[str]) -> dict[str, str]:
    return {name: virsh("domstate", name).strip() for name in names}
