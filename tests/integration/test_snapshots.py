"""Snapshots on the real libvirtd with QEMU, through the CLI: the firmware-only example (blank
disks, no guest agent), what its disks hold written and read back with ``qemu-io``.

A running VM is snapshotted live by libvirt (an external overlay while QEMU writes), a stopped
one offline; a restore puts the bytes back and starts again what ran; a delete folds a layer
back, live (block commit and pivot) or offline, and leaves one file per VM when none is left.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from .conftest import POOL_ROOT, states, virsh

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


def top(vm: str) -> str:
    """The file the domain's disk is now (virsh domblklist)."""
    for line in virsh("domblklist", vm, "--details").splitlines():
        words = line.split()
        if words[:2] == ["file", "disk"]:
            return words[3]
    raise AssertionError(f"{vm} has no disk: {virsh('domblklist', vm)}")


def qemu_io(path: str, command: str, read_only: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["qemu-io", "-f", "qcow2", *(["-r", "-U"] if read_only else []), "-c", command, path],
                          capture_output=True, text=True)


def holds(path: str, pattern: int) -> bool:
    """Does the first 64 KiB of the disk read as ``pattern`` bytes?"""
    out = qemu_io(path, f"read -P {pattern:#x} 0 64k", read_only=True)
    return out.returncode == 0 and "Pattern verification failed" not in out.stdout


def write(vm: str, pattern: int) -> None:
    out = qemu_io(top(vm), f"write -P {pattern:#x} 0 64k")
    assert out.returncode == 0, out.stderr


def chain(path: str) -> list[str]:
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json", path],
                                     capture_output=True, text=True, check=True).stdout)
    return [layer["filename"] for layer in info]


def test_a_snapshot_is_taken_restored_and_deleted_on_real_disks(cluster: dict, ai_how) -> None:
    name, config, vms = cluster["name"], cluster["config"], cluster["vms"]
    folder = POOL_ROOT / name
    ai_how("hpc", "start", config)
    ai_how("hpc", "stop", config, "--timeout", "1")
    for vm in vms:
        write(vm, 0x11)
    ai_how("vm", "start", vms[0])

    refused = ai_how("snapshot", "create", name, "--name", "before", expect=1)
    assert f"cannot freeze the filesystems of {vms[0]}" in refused.stderr, refused.stderr
    assert "--crash-consistent" in refused.stderr and "nothing was snapshotted" in refused.stderr
    assert not list(folder.glob("*@before*")), "a refused snapshot left a layer"

    taken = json.loads(ai_how("snapshot", "create", config, "--name", "before", "--crash-consistent",
                              "--json").stdout)[0]
    assert taken["consistency"] == "crash-consistent", taken
    assert {vm: top(vm) for vm in vms} == {vm: str(folder / f"{vm}@before.qcow2") for vm in vms}
    only_first = {vm: "running" if vm == vms[0] else "shut off" for vm in vms}
    assert states(vms) == only_first  # the running VM never stopped
    listed = json.loads(ai_how("snapshot", "list", name, "--json").stdout)
    assert [(r["name"], r["vms"]) for r in listed] == [
        ("before", {vm: "running" if vm == vms[0] else "stopped" for vm in vms})]
    assert ai_how("snapshot", "create", name, "--name", "before", "--crash-consistent", expect=1).stderr

    ai_how("vm", "stop", vms[0], "--timeout", "1")
    for vm in vms:
        write(vm, 0x22)  # written after the snapshot
    ai_how("vm", "start", vms[0])
    restored = ai_how("snapshot", "restore", name, "before", "--yes", "--timeout", "1")
    assert "restored snapshot before" in restored.stdout, restored.stdout
    assert states(vms) == only_first  # what ran runs again
    assert all(holds(top(vm), 0x11) for vm in vms), "the disks do not hold what the snapshot took"
    assert not list(folder.glob("*@before.qcow2")), "the overlay written after the snapshot was kept"

    ai_how("snapshot", "create", name, "--name", "second", "--crash-consistent")
    deleted = ai_how("snapshot", "delete", name, "before", "--yes")  # vms[0] runs: merged live
    assert "deleted snapshot before" in deleted.stdout, deleted.stdout
    assert states(vms)[vms[0]] == "running"
    ai_how("snapshot", "delete", name, "second", "--yes")
    for vm in vms:
        assert top(vm) == str(folder / f"{vm}.qcow2"), f"{vm} still writes to {top(vm)}"
        assert not list(folder.glob(f"{vm}@*")), sorted(folder.glob(f"{vm}@*"))
    ai_how("vm", "stop", vms[0], "--timeout", "1")
    assert all(holds(top(vm), 0x11) for vm in vms), "a delete changed what the disks hold"
    assert json.loads(ai_how("snapshot", "list", "--json").stdout) == []

    missing = ai_how("snapshot", "restore", name, "before", "--yes", expect=2)
    assert f"cluster {name} has no snapshot named before" in missing.stderr, missing.stderr
    ai_how("hpc", "destroy", config, "--yes", "--timeout", "1")
    assert not folder.exists()


def test_a_restore_killed_after_its_first_disk_is_finished_by_reconcile(cluster: dict, ai_how) -> None:
    """SIGKILL in the middle of a restore (one VM's disk back, the others not): the log shows
    the restore started and not finished; reconcile puts the other disks back and records it."""
    import signal

    from ai_how.app.faults import CRASH_ENV

    name, config, vms = cluster["name"], cluster["config"], cluster["vms"]
    ai_how("hpc", "start", config)
    ai_how("hpc", "stop", config, "--timeout", "1")
    for vm in vms:
        write(vm, 0x11)
    ai_how("snapshot", "create", name, "--name", "good")
    for vm in vms:
        write(vm, 0x22)
    ai_how("snapshot", "restore", name, "good", "--yes", expect=-signal.SIGKILL,
           extra_env={CRASH_ENV: "restore-after-first-disk"})
    assert [holds(top(vm), 0x11) for vm in vms] == [True] + [False] * (len(vms) - 1)
    assert json.loads(ai_how("snapshot", "list", name, "--json").stdout)[0]["restoring"] is True
    settled = ai_how("reconcile")
    assert f"snapshot good of cluster {name}: finished a restore that was cut off" in settled.stdout + settled.stderr
    assert all(holds(top(vm), 0x11) for vm in vms)
    assert json.loads(ai_how("snapshot", "list", name, "--json").stdout)[0]["restoring"] is False
    ai_how("hpc", "destroy", config, "--yes", "--timeout", "1")
