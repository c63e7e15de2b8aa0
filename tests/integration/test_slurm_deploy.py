"""A real SLURM cluster: the minimal example's three Debian guests (TCG, isolated network)
started and deployed by `ai-how hpc start --deploy`, then used as an ML engineer would:
sinfo, srun across both computes, an sbatch job, and one through the SSH stanza `hpc oumi`
writes for Oumi's launcher. A second deploy changes nothing and takes
the quick path; a pinned host key that does not match, and a partition that names an unknown
node, fail with the host and the task; a GPU node's slurm.conf and gres.conf, as the roles
render them, are accepted by the guests' real slurmctld and slurmd; a stopped compute shows
as down. The MUNGE key is in no event, view, output or run artifact.

Needs root, libvirtd (scripts/libvirt-up.sh) and the image tools (.ci/run installs them).
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.ansible_render import render_slurm_files

from .conftest import isolated_example, remove_leftovers

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


@pytest.fixture
def slurm_cluster(tmp_path: Path, libvirtd) -> dict:
    doc, info = isolated_example("minimal.yaml", "sl", 10)
    info["section"]["slurm_config"] = {"partitions": ["batch", "debug"], "default_partition": "batch",
                                       "max_job_time": "02:00:00"}
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml.safe_dump(doc))
    bad = json.loads(json.dumps(doc))
    bad["clusters"]["hpc"]["slurm_config"]["partitions"] = ["batch", {"name": "debug", "nodes": [f"{info['name']}-compute-09"]}]
    bad_config = tmp_path / "bad-partition.yaml"
    bad_config.write_text(yaml.safe_dump(bad))
    yield {"name": info["name"], "config": str(config), "bad_config": str(bad_config), "vms": info["vms"],
           "controller_ip": info["section"]["controller"]["ip"]}
    remove_leftovers(info["name"], info["vms"])


def _events(ai_how) -> list[dict]:
    return [json.loads(line) for line in ai_how("audit", "log", "--json").stdout.splitlines()]


def _wait_for(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(5)


def _gpu_move_drain(state: Path, controller_ip: str, node: str, ai_how) -> None:
    """A job that ends within the wait is waited for; one that does not refuses the move (the
    node resumed) unless forced, when it is requeued; the node then takes jobs again."""
    from ai_how.app.bootstrap import guest_access, ssh_keys
    from ai_how.app.deploy.handover import Slurm, drain_slurm
    from ai_how.app.progress import Progress
    from ai_how.domain.errors import MoveRefused

    slurm = Slurm(guest_access(ssh_keys(state)), "aihow", controller_ip)

    def submit(seconds: int) -> str:
        return ai_how("hpc", "ssh", "--", "sbatch", "--parsable", "--requeue", "-w", node, "--wrap",
                      f"sleep {seconds}").stdout.strip()

    short = submit(30)
    _wait_for(lambda: slurm.jobs_on(node) == [short], 60, f"job {short} running on {node}")
    began = time.monotonic()
    said = drain_slurm(slurm, node, "ai-how test", 120, False, Progress())
    assert said == f"SLURM node {node} drained, no job left on it" and time.monotonic() - began >= 5, said
    slurm.resume(node)
    _wait_for(lambda: slurm.state(node) == "idle", 60, f"{node} idle again")

    long = submit(600)
    _wait_for(lambda: slurm.jobs_on(node) == [long], 60, f"job {long} running on {node}")
    with pytest.raises(MoveRefused, match=f"{node} still runs SLURM job\\(s\\) {long} after 5 s: its node is resumed"):
        drain_slurm(slurm, node, "ai-how test", 5, False, Progress())
    assert slurm.state(node) in ("alloc", "mix") and slurm.jobs_on(node) == [long]
    said = drain_slurm(slurm, node, "ai-how test", 5, True, Progress())
    assert said == f"SLURM node {node} drained; job(s) {long} requeued (--force)"
    state = ai_how("hpc", "ssh", "--", "squeue", "--noheader", "-j", long, "--format", "%T").stdout.split()
    assert state and state[0] in ("PENDING", "REQUEUED", "CONFIGURING", "RUNNING"), state
    ai_how("hpc", "ssh", "--", "scancel", long)
    slurm.resume(node)
    _wait_for(lambda: slurm.state(node) == "idle", 60, f"{node} idle after the forced drain")


def test_a_deployed_cluster_runs_jobs_and_keeps_its_secrets(slurm_cluster: dict, ai_how, tmp_path: Path) -> None:
    config, name, vms = slurm_cluster["config"], slurm_cluster["name"], slurm_cluster["vms"]
    controller, first, second = vms
    outputs = []

    ai_how("image", "build", "hpc-base")
    began = time.monotonic()
    started = ai_how("hpc", "start", config, "--deploy")
    outputs.append(started)
    assert f"deployed {name} in " in started.stdout
    srun = ai_how("hpc", "ssh", "--", "srun", "-N2", "hostname")
    print(f"fresh 'hpc start --deploy' to the first srun: {time.monotonic() - began:.0f} s")
    assert sorted(srun.stdout.split()) == [first, second]

    nodes = ai_how("hpc", "ssh", "--", "sinfo", "--noheader", "--Node", "--format", "%N %P %t").stdout
    print(f"sinfo:\n{ai_how('hpc', 'ssh', '--', 'sinfo').stdout}")
    assert sorted(nodes.split("\n")[:-1]) == sorted(f"{node} {partition} idle" for node in (first, second)
                                                     for partition in ("batch*", "debug"))
    limits = ai_how("hpc", "ssh", "--", "sinfo", "--noheader", "--format", "%P %l").stdout.split()
    assert limits == ["batch*", "2:00:00", "debug", "2:00:00"]

    job = ai_how("hpc", "ssh", "--", "sbatch", "--parsable", "-w", first, "-o", "/tmp/job-%j.out",
                 "--wrap", "echo trained on $(hostname)").stdout.strip()
    output = _wait_for(lambda: ai_how("vm", "ssh", first, "--", "cat", f"/tmp/job-{job}.out", expect=None).stdout,
                       120, f"the output of job {job}")
    assert output == f"trained on {first}\n"

    # Oumi's launcher runs a plain 'ssh user@host' with the value it is given: the stanza
    # ai-how writes gives it the platform key and the pinned host key.
    ssh_config = tmp_path / "ssh" / "config"
    oumi = json.loads(ai_how("hpc", "oumi", config, "--write", "--ssh-config", str(ssh_config), "--json").stdout)
    assert oumi["written"] is True and oumi["OUMI_SLURM_CONNECTIONS"].endswith(f"@{controller}")
    through = subprocess.run(["ssh", "-F", str(ssh_config), "-o", "BatchMode=yes", oumi["OUMI_SLURM_CONNECTIONS"],
                              "sbatch", "--parsable", "--wrap", "true"], capture_output=True, text=True, timeout=90,
                             stdin=subprocess.DEVNULL)
    assert through.returncode == 0 and through.stdout.strip().isdigit(), through.stderr

    # gpu move's drain against the real slurmctld (no card can pass through on this machine, so
    # the move's other steps are specified on libvirt's test driver, features/gpu_move.feature).
    _gpu_move_drain(tmp_path / "state", slurm_cluster["controller_ip"], first, ai_how)

    again = ai_how("hpc", "deploy", config, "--json")
    outputs.append(again)
    record = json.loads(again.stdout)
    assert record["status"] == "deployed"
    assert {host: counts["changed"] for host, counts in record["hosts"].items()} == dict.fromkeys(vms, 0)
    first_run = next(e for e in _events(ai_how) if e["type"] == "ClusterDeployed")["payload"]
    for host in vms:  # the quick path: one command instead of every task
        assert record["hosts"][host]["ok"] < first_run["hosts"][host]["ok"] / 2, host

    status = json.loads(ai_how("hpc", "status", config, "--json").stdout)
    assert status["slurm"] == {first: "idle", second: "idle"}
    assert status["deployment"]["run_id"] == record["run_id"]

    # A host key that is not the pinned one: the run refuses the host, it does not trust it.
    known_hosts = tmp_path / "state" / "keys" / "known_hosts"
    pinned = known_hosts.read_text()
    other = [line for line in pinned.splitlines() if line.startswith(f"{first},")][0].split()[2]
    known_hosts.write_text("".join(
        f"{line.split()[0]} {line.split()[1]} {other}\n" if line.startswith(f"{second},") else f"{line}\n"
        for line in pinned.splitlines()))
    refused = ai_how("hpc", "deploy", config, "--limit", second, expect=3)
    known_hosts.write_text(pinned)
    assert f"deploy of {name} failed on {second}" in refused.stderr
    assert "Host key verification failed" in refused.stderr

    failed = ai_how("hpc", "deploy", slurm_cluster["bad_config"], expect=3)
    outputs.append(failed)
    assert (f"deploy of {name} failed on {controller} at task 'slurm-common : Partitions name only the cluster's "
            f"compute nodes': partition debug names {name}-compute-09, which is not a compute node of {name}") \
        in failed.stderr
    assert "the run's events and output: " in failed.stderr
    failure = [e for e in _events(ai_how) if e["type"] == "ClusterDeployFailed"][-1]["payload"]
    assert (failure["host"], failure["task"]) == (controller, "slurm-common : Partitions name only the cluster's "
                                                               "compute nodes")

    _gpu_node_is_accepted(ai_how, name, controller, first, second, tmp_path)

    ai_how("vm", "stop", second, "--timeout", "30")
    down = _wait_for(lambda: (s := json.loads(ai_how("hpc", "status", config, "--json").stdout)["slurm"])
                     and s[second].startswith("down") and s, 240, f"{second} shown down by SLURM")
    assert down[first] == "idle"

    _no_munge_key_anywhere(tmp_path / "state", name, outputs)


def _gpu_node_is_accepted(ai_how, name: str, controller: str, first: str, second: str, tmp_path: Path) -> None:
    """slurm.conf and gres.conf as the roles render them for a compute with an A100, on the real
    daemons, with the device node the test makes where the card's would be."""
    layout = json.loads((sorted((tmp_path / "state" / "runs").glob("*-deploy-*"))[0] / "env" / "extravars").read_text())
    for node in layout["slurm_nodes"]:
        if node["name"] == first:
            node["gres"] = [{"type": "a100_pcie_80gb", "count": 1}]
            node["gpu_files"] = [{"type": "a100_pcie_80gb", "file": "/dev/nvidia0"}]
    layout["slurm_partitions"].append({"name": "gpu", "nodes": [], "default": False, "max_time": "INFINITE"})
    files = render_slurm_files(layout, tmp_path / "gpu-conf")
    assert "GresTypes=gpu" in files["slurm.conf"]
    assert "PartitionName=gpu Default=NO" in files["slurm.conf"]  # a partition of no node yet
    ai_how("vm", "ssh", first, "--", "sudo", "sh", "-c", "[ -e /dev/nvidia0 ] || mknod -m 666 /dev/nvidia0 c 195 0")
    for vm in (controller, first, second):
        for file_name in ("slurm.conf", "gres.conf"):
            ai_how("vm", "ssh", vm, "--", "sudo", "sh", "-c",
                   f"echo {base64.b64encode(files[file_name].encode()).decode()} | base64 -d > /etc/slurm/{file_name}")
    for vm in (first, second):  # slurmd first, as the roles' handlers do
        ai_how("vm", "ssh", vm, "--", "sudo", "systemctl", "restart", "slurmd")
    ai_how("vm", "ssh", controller, "--", "sudo", "systemctl", "restart", "slurmctld")
    shown = _wait_for(lambda: (out := ai_how("hpc", "ssh", "--", "scontrol", "show", "node", first).stdout)
                      and "State=IDLE" in out and out, 120, f"{first} idle with its GPU")
    assert "Gres=gpu:a100_pcie_80gb:1" in shown
    visible = ai_how("hpc", "ssh", "--", "srun", "-w", first, "--gres=gpu:1", "sh", "-c",
                     "echo $CUDA_VISIBLE_DEVICES").stdout
    assert visible.strip() == "0"
    partitions = ai_how("hpc", "ssh", "--", "sinfo", "--noheader", "--format", "%P %D").stdout.split("\n")
    assert "gpu 0" in partitions


def _no_munge_key_anywhere(state: Path, cluster: str, outputs: list) -> None:
    key_file = state / "keys" / "clusters" / cluster / "munge.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key = key_file.read_bytes()
    forms = [key[:48], key[500:548], base64.b64encode(key)[:64], key.hex()[:64].encode()]
    places = [p for p in state.rglob("*") if p.is_file() and p != key_file]  # the log, the views, every run
    assert any(p.name == "stdout" for p in places) and (state / "events.sqlite") in places
    for place in places:
        data = place.read_bytes()
        assert not any(form in data for form in forms), place
    for out in outputs:
        text = (out.stdout + out.stderr).encode()
        assert not any(form in text for form in forms)
