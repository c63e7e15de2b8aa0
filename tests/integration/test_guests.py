"""Real guests on a real libvirtd with QEMU (TCG), on an isolated network, through the CLI:
the image built (or found by its recipe's digest), the minimal cluster booted until each guest
answers SSH with its pinned host key, each VM's name and address, a host directory shared in,
a start profile that dies falling back to the next, a changed host key refused, and no secret
in the log or the views.

Needs root, libvirtd (scripts/libvirt-up.sh) and the image tools (.ci/run installs them).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import IMAGE_DIR, isolated_example, remove_leftovers

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


@pytest.fixture
def guest_cluster(tmp_path: Path, libvirtd) -> dict:
    """examples/minimal.yaml under names and a subnet of its own; the controller mounts a
    host directory read-only at /data."""
    doc, info = isolated_example("minimal.yaml", "gt", 8)
    hpc = info["section"]
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text(f"written on the host {info['tag']}\n")
    hpc["controller"]["virtio_fs_mounts"] = [{"tag": "data", "host_path": str(shared), "mount_point": "/data",
                                               "readonly": True}]
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml.safe_dump(doc))
    ips = [vm["ip"] for vm in [hpc["controller"], *hpc["compute_nodes"]]]
    yield {"name": info["name"], "config": str(config), "vms": info["vms"], "ips": ips, "shared": shared,
           "tag": info["tag"]}
    remove_leftovers(info["name"], info["vms"])


def test_the_minimal_cluster_boots_real_guests(guest_cluster: dict, ai_how, tmp_path: Path) -> None:
    config, vms, ips = guest_cluster["config"], guest_cluster["vms"], guest_cluster["ips"]

    first = json.loads(ai_how("image", "build", "hpc-base", "--json").stdout)
    second = json.loads(ai_how("image", "build", "hpc-base", "--json").stdout)
    assert second["cached"] and second["path"] == first["path"] and second["sha256"] == first["sha256"]
    assert Path(first["path"]).parent == Path(IMAGE_DIR)
    listed = json.loads(ai_how("image", "list", "--json").stdout)
    assert [(i["name"], i["sha256"], i["present"]) for i in listed] == [("hpc-base", first["sha256"], True)]

    # The first profile always dies a few seconds into the boot, as nested KVM does.
    started = ai_how("hpc", "start", config, extra_env={"AI_HOW_START_PROFILES": "doomed,tcg"})
    for vm in vms:
        assert f"{vm}: died while booting on doomed (test); trying tcg" in started.stderr
        assert f"{vm}: ready: answers SSH (tcg" in started.stderr
    status = json.loads(ai_how("hpc", "status", config, "--json").stdout)
    assert {vm["name"]: vm["guest"] for vm in status["vms"]} == {vm: "ready (tcg)" for vm in vms}
    events = [json.loads(line) for line in ai_how("audit", "log", "--json").stdout.splitlines()]
    ready = {e["payload"]["address"]: e["payload"]["profile"] for e in events if e["type"] == "GuestReady"}
    assert ready == {ip: "tcg" for ip in ips}
    defined = [e["payload"]["spec"] for e in events if e["type"] == "VmDefined"]
    assert {spec["base_image_sha256"] for spec in defined} == {first["sha256"]}

    for vm, ip in zip(vms, ips):
        assert ai_how("vm", "ssh", vm, "--", "hostname").stdout.strip() == vm
        assert f"inet {ip}/24" in ai_how("vm", "ssh", vm, "--", "ip", "-4", "-o", "addr", "show", "eth0").stdout
        assert "default" not in ai_how("vm", "ssh", vm, "--", "ip", "route").stdout  # isolated: no route out
    assert ai_how("vm", "ssh", vms[1], "--", "sh", "-c", "exit 7", expect=7).returncode == 7

    controller = vms[0]
    assert ai_how("vm", "ssh", controller, "--", "cat", "/data/hello.txt").stdout == \
        f"written on the host {guest_cluster['tag']}\n"
    assert ai_how("vm", "ssh", controller, "--", "sudo", "touch", "/data/x", expect=1).returncode == 1  # readonly
    (guest_cluster["shared"] / "later.txt").write_text("seen live\n")
    assert ai_how("vm", "ssh", controller, "--", "cat", "/data/later.txt").stdout == "seen live\n"
    grown = ai_how("vm", "ssh", controller, "--", "df", "--output=size", "-B1G", "/").stdout.split()[-1]
    assert int(grown) >= 3  # the root filesystem grew to the VM's 4 GB disk on first boot

    state = tmp_path / "state"
    known_hosts = state / "keys" / "known_hosts"
    pinned = known_hosts.read_text()
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    impostor = Path(f"{other}.pub").read_text().split()[:2]
    known_hosts.write_text("".join(
        f"{line.split(' ', 1)[0]} {' '.join(impostor)}\n" if vms[2] in line else f"{line}\n"
        for line in pinned.splitlines()))
    refused = ai_how("vm", "ssh", vms[2], "--", "true", expect=3)
    assert "its host key is not the one ai-how pinned for it" in refused.stderr
    known_hosts.write_text(pinned)

    secrets_found = [(state / "keys" / "platform_ed25519").read_text()]
    secrets_found += [(state / "keys" / "hosts" / vm / "ssh_host_ed25519_key").read_text() for vm in vms]
    for path in (state / "keys").rglob("*"):
        if path.is_file() and not path.name.endswith(".pub"):
            assert path.stat().st_mode & 0o077 == 0, path
    cores = ["".join(secret.strip().splitlines()[1:-1])[:40] for secret in secrets_found]
    output = started.stdout + started.stderr
    for db in ("events.sqlite", "views.sqlite"):
        dump = "\n".join(sqlite3.connect(state / db).iterdump())
        assert not [core for core in cores if core in dump], db
    assert not [core for core in cores if core in output]

    pool = Path("/var/lib/libvirt/images/ai-how-tests") / guest_cluster["name"]
    assert sorted(p.name for p in pool.glob("*-seed.iso")) == sorted(f"{vm}-seed.iso" for vm in vms)
    assert all(p.stat().st_mode & 0o077 == 0 for p in pool.glob("*-seed.iso"))
    ai_how("hpc", "destroy", config, "--yes", "--timeout", "5")
    assert not pool.exists()
    assert not any(vm in known_hosts.read_text() for vm in vms)
    assert not (state / "keys" / "hosts" / vms[0]).exists()
