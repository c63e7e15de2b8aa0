"""Real guests on a real libvirtd with QEMU (TCG), on an isolated network, through the CLI, on
the run's shared cluster (conftest.shared_cluster): the image built (or found by its recipe's
digest), the minimal cluster booted until each guest answers SSH with its pinned host key, each
VM's name and address, one connection shared by the commands to a guest, a host directory
shared in, a start profile that dies falling back to the next, a changed host key refused, no
secret in the log or the views, and — last of the whole run — destroy leaving nothing behind.

Needs root, libvirtd (scripts/libvirt-up.sh) and the image tools (.ci/run installs them).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from .conftest import IMAGE_DIR, POOL_ROOT, SharedCluster

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


def test_the_image_is_built_once_and_found_by_its_recipe(shared_cluster: SharedCluster) -> None:
    ai_how, first = shared_cluster.ai_how, shared_cluster.image
    second = json.loads(ai_how("image", "build", "hpc-base", "--json").stdout)
    assert second["cached"] and second["path"] == first["path"] and second["sha256"] == first["sha256"]
    assert Path(first["path"]).parent == Path(IMAGE_DIR)
    listed = json.loads(ai_how("image", "list", "--json").stdout)
    assert [(i["name"], i["sha256"], i["present"]) for i in listed] == [("hpc-base", first["sha256"], True)]


def test_each_guest_died_on_the_first_profile_and_came_up_on_tcg(shared_cluster: SharedCluster) -> None:
    ai_how, vms, started = shared_cluster.ai_how, shared_cluster.vms, shared_cluster.started
    for vm in vms:
        assert f"{vm}: died while booting on doomed (test); trying tcg" in started.stderr
        assert f"{vm}: ready: answers SSH (tcg" in started.stderr
    status = json.loads(ai_how("hpc", "status", shared_cluster.config, "--json").stdout)
    assert {vm["name"]: vm["guest"] for vm in status["vms"]} == {vm: "ready (tcg)" for vm in vms}
    events = [json.loads(line) for line in ai_how("audit", "log", "--json").stdout.splitlines()]
    ready = {e["payload"]["address"]: e["payload"]["profile"] for e in events if e["type"] == "GuestReady"}
    assert ready == {ip: "tcg" for ip in shared_cluster.ips}
    defined = [e["payload"]["spec"] for e in events if e["type"] == "VmDefined"]
    assert {spec["base_image_sha256"] for spec in defined} == {shared_cluster.image["sha256"]}


def test_each_guest_has_its_name_and_address_and_no_route_out(shared_cluster: SharedCluster) -> None:
    ai_how, vms = shared_cluster.ai_how, shared_cluster.vms
    for vm, ip in zip(vms, shared_cluster.ips):
        said = ai_how("vm", "ssh", vm, "--", "sh", "-c", "hostname; echo ---; ip -4 -o addr show eth0; echo ---; "
                      "ip route").stdout.split("---\n")
        assert said[0].strip() == vm
        assert f"inet {ip}/24" in said[1]
        assert said[2].strip() and "default" not in said[2]  # isolated: no route out
    assert ai_how("vm", "ssh", vms[1], "--", "sh", "-c", "exit 7", expect=7).returncode == 7
    # The commands to a guest share one connection (a new one costs its one vCPU seconds):
    # each sees the same client address and port.
    seen = {ai_how("vm", "ssh", vms[1], "--", "sh", "-c", "echo $SSH_CONNECTION").stdout for _ in range(3)}
    assert len(seen) == 1 and seen.pop().startswith("10."), seen


def test_host_directories_are_shared_read_only_or_as_the_admin_s_and_the_root_grew(shared_cluster: SharedCluster) -> None:
    ai_how, controller = shared_cluster.ai_how, shared_cluster.vms[0]
    assert ai_how("vm", "ssh", controller, "--", "cat", "/data/hello.txt").stdout == \
        f"written on the host {shared_cluster.tag}\n"
    assert ai_how("vm", "ssh", controller, "--", "sudo", "touch", "/data/x", expect=1).returncode == 1  # readonly
    (shared_cluster.shared / "later.txt").write_text("seen live\n")
    assert ai_how("vm", "ssh", controller, "--", "cat", "/data/later.txt").stdout == "seen live\n"
    work = ai_how("vm", "ssh", controller, "--", "sh", "-c", "stat -c '%U %G %a' /work && findmnt -no OPTIONS /work")
    owner, options = work.stdout.splitlines()
    assert owner == "aihow aihow 770" and "noatime" in options.split(","), work.stdout
    grown = ai_how("vm", "ssh", controller, "--", "df", "--output=size", "-B1G", "/").stdout.split()[-1]
    assert int(grown) >= 3  # the root filesystem grew to the VM's 4 GB disk on first boot


def test_a_changed_host_key_is_refused(shared_cluster: SharedCluster, tmp_path: Path) -> None:
    known_hosts = shared_cluster.state / "keys" / "known_hosts"
    pinned = known_hosts.read_text()
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    impostor = Path(f"{other}.pub").read_text().split()[:2]
    victim = shared_cluster.vms[2]
    known_hosts.write_text("".join(
        f"{line.split(' ', 1)[0]} {' '.join(impostor)}\n" if victim in line else f"{line}\n"
        for line in pinned.splitlines()))
    try:
        refused = shared_cluster.ai_how("vm", "ssh", victim, "--", "true", expect=3)
    finally:
        known_hosts.write_text(pinned)
    assert "its host key is not the one ai-how pinned for it" in refused.stderr
    assert shared_cluster.ai_how("vm", "ssh", victim, "--", "true").returncode == 0


def test_keys_stay_private_and_out_of_the_log_the_views_and_the_output(shared_cluster: SharedCluster) -> None:
    state, vms = shared_cluster.state, shared_cluster.vms
    secrets_found = [(state / "keys" / "platform_ed25519").read_text()]
    secrets_found += [(state / "keys" / "hosts" / vm / "ssh_host_ed25519_key").read_text() for vm in vms]
    for path in (state / "keys").rglob("*"):
        if path.is_file() and not path.name.endswith(".pub"):
            assert path.stat().st_mode & 0o077 == 0, path
    cores = ["".join(secret.strip().splitlines()[1:-1])[:40] for secret in secrets_found]
    output = shared_cluster.started.stdout + shared_cluster.started.stderr
    for db in ("events.sqlite", "views.sqlite"):
        dump = "\n".join(sqlite3.connect(state / db).iterdump())
        assert not [core for core in cores if core in dump], db
    assert not [core for core in cores if core in output]
    pool = POOL_ROOT / shared_cluster.name
    assert sorted(p.name for p in pool.glob("*-seed.iso")) == sorted(f"{vm}-seed.iso" for vm in vms)
    assert all(p.stat().st_mode & 0o077 == 0 for p in pool.glob("*-seed.iso"))


@pytest.mark.destroys_shared_cluster
def test_destroy_leaves_nothing_behind(shared_cluster: SharedCluster) -> None:
    state, vms = shared_cluster.state, shared_cluster.vms
    known_hosts = state / "keys" / "known_hosts"
    assert all(vm in known_hosts.read_text() for vm in vms)
    destroyed = shared_cluster.ai_how("hpc", "destroy", shared_cluster.config, "--yes", "--timeout", "5")
    assert not (POOL_ROOT / shared_cluster.name).exists()
    shared = POOL_ROOT / "shared" / shared_cluster.name  # the users' work outlives the VMs
    assert f"kept the shared storage of {shared_cluster.name} at {shared}" in destroyed.stdout
    assert (shared / "aihow").is_dir()
    purged = shared_cluster.ai_how("hpc", "destroy", shared_cluster.config, "--yes", "--purge-data")
    assert f"deleted the shared storage of {shared_cluster.name} at {shared}" in purged.stdout and not shared.exists()
    assert not any(vm in known_hosts.read_text() for vm in vms)
    assert not (state / "keys" / "hosts" / vms[0]).exists()
