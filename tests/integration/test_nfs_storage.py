"""The NFS backend of the HPC cluster's shared storage on real guests: the minimal example's
controller and one compute (hpc-base, TCG, an isolated network) with
``storage.shared.backend: nfs``. Nothing is made on the host; the compute mounts the
controller's export on first use; what the admin user writes there on the compute (as a job's
output would be) is on the controller's disk under the same owner; ``hpc storage`` measures it
on the controller; ``model push hpc:`` copies it over SSH and registers it in a real MLflow
(S3 on loopback); a destroy that would delete it is refused until ``--purge-data``.

The two guests are also the run's tuned Debian guests and its snapshotted ones (a boot costs
minutes on TCG, so they do triple duty): a snapshot with the controller running (frozen through
its guest agent) and the compute stopped, restored (one reboot of the controller). And they are
tuned: ``performance.enable_hugepages`` (2M) and ``cpu_pinning``. They boot with their
memory taken from the hugepage pool the test reserves (and gives back), and run pinned to host
CPUs of their own.

SLURM is not deployed here: the run's budget has room for one SLURM cluster, the shared one,
whose jobs write on virtiofs storage (test_slurm_deploy.py); the mount is what differs.
Needs root, libvirtd (scripts/libvirt-up.sh), the image tools and PostgreSQL (.ci/run).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
import yaml

from .conftest import POOL_ROOT, cli_runner, isolated_example, remove_leftovers, states, virsh

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt, pytest.mark.boots_own_guests, pytest.mark.mlflow]


def test_nfs_storage_is_the_controller_s_disk_mounted_by_the_computes(tmp_path: Path, libvirtd, mlflow_uri: str,
                                                                     s3_uri: str) -> None:
    import boto3

    doc, info = isolated_example("minimal.yaml", "nf", 9)
    hpc = info["section"]
    hpc["compute_nodes"] = hpc["compute_nodes"][:1]
    hpc["storage"] = {"shared": {"backend": "nfs"}}
    hpc["hardware"] = {"acceleration": {"performance": {"enable_hugepages": True, "hugepage_size": "2M",
                                                        "cpu_pinning": True}}}
    controller, compute = info["vms"][:2]
    controller_ip = hpc["controller"]["ip"]
    config = tmp_path / "nfs.yaml"
    config.write_text(yaml.safe_dump(doc))
    ai_how = cli_runner(tmp_path / "state")
    pages = int((hpc["controller"]["memory_gb"] + hpc["compute_nodes"][0]["memory_gb"]) * 512)
    pool = Path("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")
    before = int(pool.read_text())
    try:
        Path("/proc/sys/vm/compact_memory").write_text("1\n")  # whole 2 MiB runs for the pool
        pool.write_text(str(before + pages))
        assert int(pool.read_text()) == before + pages, "the kernel could not reserve the hugepages"
        free_before = int((pool.parent / "free_hugepages").read_text())
        ai_how("image", "build", "hpc-base")
        ai_how("hpc", "start", str(config))
        assert not (POOL_ROOT / "shared" / info["name"]).exists(), "nfs: nothing of it is on the host"
        assert free_before - int((pool.parent / "free_hugepages").read_text()) == pages
        pinned = [json.loads(ai_how("vm", "status", vm, "--json").stdout)["pins"]["cpus"] for vm in (controller, compute)]
        assert len(pinned[0]) == len(pinned[1]) == 1 and pinned[0] != pinned[1], pinned
        for vm, cpus in zip((controller, compute), pinned, strict=True):
            assert f"<vcpupin vcpu='0' cpuset='{cpus[0]}'/>" in virsh("dumpxml", vm)

        mounted = ai_how("vm", "ssh", compute, "--", "sh", "-c",
                         "ls /shared/aihow >/dev/null && findmnt -no FSTYPE,SOURCE -t nfs,nfs4 /shared").stdout
        assert mounted.split() == ["nfs4", f"{controller_ip}:/shared"], mounted
        weights = ai_how("vm", "ssh", compute, "--", "sh", "-c",
                         "mkdir -p /shared/aihow/trained && head -c 300000 /dev/urandom > /shared/aihow/trained/model.pkl"
                         " && printf 'flavors:\\n  sklearn: {pickled_model: model.pkl}\\n' > /shared/aihow/trained/MLmodel"
                         " && sha256sum /shared/aihow/trained/model.pkl").stdout.split()[0]
        on_controller = ai_how("vm", "ssh", controller, "--", "sh", "-c",
                               "stat -c '%U %s' /shared/aihow/trained/model.pkl && "
                               "sha256sum /shared/aihow/trained/model.pkl").stdout.split()
        assert on_controller[:3] == ["aihow", "300000", weights], on_controller

        storage = json.loads(ai_how("hpc", "storage", str(config), "--json").stdout)
        assert (storage["backend"], storage["mount_point"], storage["host_path"], storage["controller"]) == \
            ("nfs", "/shared", None, controller)
        assert storage["used_bytes"] >= 300000 and storage["free_bytes"] > 0

        boto3.client("s3", endpoint_url=s3_uri, aws_access_key_id="test", aws_secret_access_key="test",
                     region_name="us-east-1").create_bucket(Bucket="models")
        env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
        pushed = ai_how("model", "push", "hpc:/shared/aihow/trained", "--name", f"nfs-{info['tag']}",
                        "--s3-endpoint", s3_uri, "--mlflow-uri", mlflow_uri, extra_env=env)
        assert f"read from hpc:{info['name']}:/shared/aihow/trained (copied over SSH from {controller})" in pushed.stdout
        assert "2 file(s), " in pushed.stdout and "every object's checksum verified" in pushed.stdout
        stored = boto3.client("s3", endpoint_url=s3_uri, aws_access_key_id="test", aws_secret_access_key="test",
                              region_name="us-east-1")
        keys = [o["Key"] for o in stored.list_objects_v2(Bucket="models")["Contents"] if o["Key"].endswith("model.pkl")]
        assert hashlib.sha256(stored.get_object(Bucket="models", Key=keys[0])["Body"].read()).hexdigest() == weights

        _snapshot_round_trip(ai_how, info["name"], controller, compute)

        refused = ai_how("hpc", "destroy", str(config), "--yes", "--timeout", "10", expect=1)
        assert f"the shared storage of {info['name']} (nfs, /shared) is on {controller}'s disk and holds" \
            in refused.stderr, refused.stderr
        assert states([controller, compute]) == {controller: "running", compute: "shut off"}
        gone = ai_how("hpc", "destroy", str(config), "--yes", "--timeout", "10", "--purge-data")
        assert f"the shared storage of {info['name']} went with {controller}'s disk (nfs)" in gone.stdout
        assert int((pool.parent / "free_hugepages").read_text()) == free_before
    finally:
        remove_leftovers(info["name"], info["vms"])
        pool.write_text(str(before))


def _snapshot_round_trip(ai_how, cluster: str, controller: str, compute: str) -> None:
    """A snapshot of the cluster with its controller running (its filesystems frozen by its guest
    agent) and its compute stopped (taken offline); what was written before the snapshot is back
    after the restore, what was written after is gone, and the controller boots clean (ext4 finds
    no journal to recover), pinned again. One guest reboots: the suite's time is counted in boots."""
    def on(vm: str, script: str) -> str:
        return ai_how("vm", "ssh", vm, "--", "sh", "-c", script).stdout

    ai_how("vm", "stop", compute, "--timeout", "30")
    began = time.monotonic()
    on(controller, "echo kept > /home/aihow/before.txt && sync")
    taken = json.loads(ai_how("snapshot", "create", cluster, "--name", "nfs-good", "--json").stdout)[0]
    assert taken["consistency"] == "frozen", taken
    assert taken["vms"] == {controller: "frozen, disk-only", compute: "disk-only"}, taken
    agent = on(controller, "sudo journalctl -b -u qemu-guest-agent --no-pager -o cat")
    assert "fsfreeze" in agent.lower(), agent
    on(controller, "echo lost > /home/aihow/after.txt && sync")
    print(f"snapshot of a running guest, frozen, and a stopped one: {time.monotonic() - began:.0f} s")
    began = time.monotonic()
    restored = ai_how("snapshot", "restore", cluster, "nfs-good", "--yes", "--timeout", "30")
    print(f"restore (stop, disks back, booted again): {time.monotonic() - began:.0f} s\n{restored.stdout}")
    assert f"{controller}: restored, started again" in restored.stdout and f"{compute}: restored\n" in restored.stdout
    assert (f"note: The shared storage (/shared, nfs) is on {controller}'s disk and goes back with it: what jobs "
            "wrote there since is lost") in restored.stderr, restored.stderr
    assert states([controller, compute]) == {controller: "running", compute: "shut off"}
    assert on(controller, "cat /home/aihow/before.txt; ls /home/aihow").split() == ["kept", "before.txt"]
    assert "recovery complete" not in on(controller, "sudo dmesg"), "the root filesystem was not left clean"
    assert json.loads(ai_how("vm", "status", controller, "--json").stdout)["pins"], "not pinned again"
    listed = json.loads(ai_how("snapshot", "list", cluster, "--json").stdout)
    assert [(r["name"], r["restores"], r["vms"]) for r in listed] == [
        ("nfs-good", 1, {compute: "stopped", controller: "running"})]
