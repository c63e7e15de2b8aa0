"""A real SLURM cluster: the run's shared cluster (the minimal example's three Debian guests,
TCG, isolated network) deployed by `ai-how hpc start --deploy`, then used as an ML engineer
would: sinfo, srun across both computes, an sbatch job, and one through the SSH stanza
`hpc oumi` writes for Oumi's launcher. gpu move's drain against the real slurmctld. A second
deploy changes nothing and takes the quick path; a pinned host key that does not match, and a
partition that names an unknown node, fail with the host and the task; a GPU node's slurm.conf
and gres.conf, as the roles render them, are accepted by the guests' real slurmctld and slurmd
(and the deployed files are put back after). A stop with a job on its node is refused,
--force requeues, --drain waits for a short job; a stopped compute shows as down, and the next
start resumes the nodes ai-how drained. The MUNGE key is in no event, view, output or run
artifact.

The tests build on each other in file order, as an operator's session would.
Needs root, libvirtd (scripts/libvirt-up.sh) and the image tools (.ci/run installs them).
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.ansible_render import render_slurm_files

from .conftest import POOL_ROOT, SharedCluster, states

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


def _events(ai_how) -> list[dict]:
    return [json.loads(line) for line in ai_how("audit", "log", "--json").stdout.splitlines()]


def _wait_for(check, timeout_s: float, what: str, every_s: float = 5):
    """``check()``'s first true answer. A check that runs ai-how costs an interpreter's start on
    a busy 2-core host: every 5 s; one through an open SSH connection may look more often."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(every_s)


def _gpu_move_drain(state: Path, controller_ip: str, node: str, ai_how) -> None:
    """A job that ends within the wait is waited for; one that does not refuses the move (the
    node resumed) unless forced, when it is requeued; the node then takes jobs again."""
    from ai_how.adapters.slurm import SshSlurm
    from ai_how.app.bootstrap import guest_access, ssh_keys
    from ai_how.app.lifecycle.handover import drain_slurm
    from ai_how.app.progress import Progress
    from ai_how.domain.errors import MoveRefused

    slurm = SshSlurm(guest_access(ssh_keys(state)), "aihow", controller_ip)

    def submit(seconds: int) -> str:
        return ai_how("hpc", "ssh", "--", "sbatch", "--parsable", "--requeue", "-w", node, "--wrap",
                      f"sleep {seconds}").stdout.strip()

    short = submit(15)
    _wait_for(lambda: slurm.jobs_on(node) == [short], 60, f"job {short} running on {node}", every_s=1)
    began = time.monotonic()
    said = drain_slurm(slurm, node, "ai-how test", 120, False, Progress())
    assert said == f"SLURM node {node} drained, no job left on it" and time.monotonic() - began >= 5, said
    slurm.resume(node)
    _wait_for(lambda: slurm.state(node) == "idle", 60, f"{node} idle again", every_s=1)

    long = submit(600)
    try:
        _wait_for(lambda: slurm.jobs_on(node) == [long], 60, f"job {long} running on {node}", every_s=1)
        with pytest.raises(MoveRefused,
                           match=f"{node} still runs SLURM job\\(s\\) {long} after 5 s: its node is resumed"):
            drain_slurm(slurm, node, "ai-how test", 5, False, Progress())
        # A busy TCG guest may answer a ping late: SLURM then adds '(not responding)' for a while.
        assert slurm.state(node).split(" (")[0] in ("alloc", "mix") and slurm.jobs_on(node) == [long]
        said = drain_slurm(slurm, node, "ai-how test", 5, True, Progress())
        assert said == f"SLURM node {node} drained; job(s) {long} requeued (--force)"
        state = ai_how("hpc", "ssh", "--", "squeue", "--noheader", "-j", long, "--format", "%T").stdout.split()
        assert state and state[0] in ("PENDING", "REQUEUED", "CONFIGURING", "RUNNING"), state
    finally:  # whatever failed above, the tests after find no job of this one's on the node
        ai_how("hpc", "ssh", "--", "scancel", long, expect=None)
    slurm.resume(node)
    _wait_for(lambda: slurm.state(node) == "idle", 60, f"{node} idle after the forced drain", every_s=1)


def test_start_deploy_gives_a_cluster_that_runs_jobs(shared_cluster: SharedCluster, tmp_path: Path) -> None:
    ai_how, config, name = shared_cluster.ai_how, shared_cluster.config, shared_cluster.name
    controller, first, second = shared_cluster.vms
    began = time.monotonic()
    started = ai_how("hpc", "start", config, "--deploy")
    shared_cluster.outputs.append(started)
    assert f"deployed {name} in " in started.stdout
    assert f"already running: {', '.join(shared_cluster.vms)}" in started.stdout
    srun = ai_how("hpc", "ssh", "--", "srun", "-N2", "hostname")
    print(f"'hpc start --deploy' on the running cluster to the first srun: {time.monotonic() - began:.0f} s")
    assert sorted(srun.stdout.split()) == [first, second]

    nodes = ai_how("hpc", "ssh", "--", "sinfo", "--noheader", "--Node", "--format", "%N %P %t").stdout
    assert sorted(nodes.split("\n")[:-1]) == sorted(f"{node} {partition} idle" for node in (first, second)
                                                     for partition in ("batch*", "debug"))
    limits = ai_how("hpc", "ssh", "--", "sinfo", "--noheader", "--format", "%P %l").stdout.split()
    assert limits == ["batch*", "2:00:00", "debug", "2:00:00"]

    job = ai_how("hpc", "ssh", "--", "sbatch", "--parsable", "-w", first, "-o", "/tmp/job-%j.out",
                 "--wrap", "echo trained on $(hostname)").stdout.strip()
    output = _wait_for(lambda: ai_how("vm", "ssh", first, "--", "cat", f"/tmp/job-{job}.out", expect=None).stdout,
                       120, f"the output of job {job}")
    assert output == f"trained on {first}\n"

    # A job submitted the ordinary way ('hpc ssh' starts in /shared/USER) writes its output on
    # the shared storage: the controller, the other compute and the host read it; a file the
    # host put there is read by the job.
    host_folder = POOL_ROOT / "shared" / name / "aihow"
    (host_folder / "from-host.txt").write_text("written on the host\n")
    ordinary = ai_how("hpc", "ssh", "--", "sbatch", "--parsable", "-w", second, "--wrap",
                      "hostname; cat from-host.txt").stdout.strip()
    out_file = f"/shared/aihow/slurm-{ordinary}.out"
    seen = _wait_for(lambda: ai_how("vm", "ssh", first, "--", "cat", out_file, expect=None).stdout, 120,
                     f"the output of job {ordinary} on {first}")
    assert seen == f"{second}\nwritten on the host\n"
    assert ai_how("vm", "ssh", controller, "--", "cat", out_file).stdout == seen
    assert (host_folder / f"slurm-{ordinary}.out").read_text() == seen
    assert len({ai_how("vm", "ssh", vm, "--", "id", "-u", "aihow").stdout for vm in shared_cluster.vms}) == 1
    storage = json.loads(ai_how("hpc", "storage", config, "--json").stdout)
    assert (storage["backend"], storage["mount_point"], storage["host_path"]) == \
        ("virtiofs", "/shared", str(POOL_ROOT / "shared" / name))
    assert storage["used_bytes"] > 0 and storage["free_bytes"] > 0

    # Oumi's launcher runs a plain 'ssh user@host' with the value it is given: the stanza
    # ai-how writes gives it the platform key and the pinned host key.
    ssh_config = tmp_path / "ssh" / "config"
    oumi = json.loads(ai_how("hpc", "oumi", config, "--write", "--ssh-config", str(ssh_config), "--json").stdout)
    assert oumi["written"] is True and oumi["OUMI_SLURM_CONNECTIONS"].endswith(f"@{controller}")
    through = subprocess.run(["ssh", "-F", str(ssh_config), "-o", "BatchMode=yes", oumi["OUMI_SLURM_CONNECTIONS"],
                              "sbatch", "--parsable", "--wrap", "true"], capture_output=True, text=True, timeout=90,
                             stdin=subprocess.DEVNULL)
    assert through.returncode == 0 and through.stdout.strip().isdigit(), through.stderr


@pytest.mark.mlflow
def test_a_model_a_job_wrote_is_pushed_from_the_shared_storage_and_its_manifest_printed(
        shared_cluster: SharedCluster, mlflow_uri: str, s3_uri: str) -> None:
    """The seeds' path: an sbatch job writes a model on the shared storage; 'model push hpc:'
    registers it in a real MLflow (S3 on loopback); 'model deploy --mlflow --dry-run' prints
    the InferenceService for that version, with no Cloud cluster recorded."""
    import boto3

    ai_how, name = shared_cluster.ai_how, shared_cluster.name
    boto3.client("s3", endpoint_url=s3_uri, aws_access_key_id="test", aws_secret_access_key="test",
                 region_name="us-east-1").create_bucket(Bucket="models")
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    job = ai_how("hpc", "ssh", "--", "sbatch", "--parsable", "--wrap",
                 "mkdir -p trained && head -c 65536 /dev/urandom > trained/model.pkl && "
                 "printf 'flavors:\\n  sklearn: {pickled_model: model.pkl}\\n' > trained/MLmodel").stdout.strip()
    written = POOL_ROOT / "shared" / name / "aihow" / "trained" / "MLmodel"
    _wait_for(lambda: written.exists() and written.stat().st_size > 0, 120, f"job {job}'s model on the host")
    model = f"trained-{shared_cluster.tag}"
    pushed = json.loads(ai_how("model", "push", "hpc:/shared/aihow/trained", "--name", model, "--alias", "staging",
                               "--job", job, "--s3-endpoint", s3_uri, "--mlflow-uri", mlflow_uri, "--json",
                               extra_env=env).stdout)
    assert (pushed["origin"], pushed["job"], pushed["files"]) == (f"hpc:{name}:/shared/aihow/trained", job, 2)
    events = [json.loads(line) for line in ai_how("audit", "log", "--json", "--type", "ModelPushed").stdout.splitlines()]
    assert [e["payload"]["origin"] for e in events if e["aggregate"] == f"model {model}"] == \
        [f"hpc:{name}:/shared/aihow/trained"]
    dry = ai_how("model", "deploy", "served", "--mlflow", f"{model}@staging", "--mlflow-uri", mlflow_uri,
                 "--format", "sklearn", "--dry-run", extra_env=env)
    assert "kind: InferenceService" in dry.stdout and f"storageUri: {pushed['source']}" in dry.stdout, dry.stdout
    assert "the GPU check was not made: no Cloud cluster is recorded here" in dry.stderr


def test_gpu_move_drains_against_the_real_slurmctld(shared_cluster: SharedCluster) -> None:
    # No card can pass through on this machine, so the move's other steps are specified on
    # libvirt's test driver (features/gpu_move.feature).
    _gpu_move_drain(shared_cluster.state, shared_cluster.controller_ip, shared_cluster.vms[1], shared_cluster.ai_how)


def test_a_second_deploy_changes_nothing_and_takes_the_quick_path(shared_cluster: SharedCluster) -> None:
    ai_how, vms = shared_cluster.ai_how, shared_cluster.vms
    again = ai_how("hpc", "deploy", shared_cluster.config, "--json")
    shared_cluster.outputs.append(again)
    record = json.loads(again.stdout)
    assert record["status"] == "deployed"
    assert {host: counts["changed"] for host, counts in record["hosts"].items()} == dict.fromkeys(vms, 0)
    first_run = next(e for e in _events(ai_how) if e["type"] == "ClusterDeployed")["payload"]
    for host in vms:  # the quick path: one command instead of every task
        assert record["hosts"][host]["ok"] < first_run["hosts"][host]["ok"] / 2, host
    status = json.loads(ai_how("hpc", "status", shared_cluster.config, "--json").stdout)
    assert status["slurm"] == {vms[1]: "idle", vms[2]: "idle"}
    assert status["deployment"]["run_id"] == record["run_id"]


def test_a_deploy_fails_with_its_host_and_task(shared_cluster: SharedCluster) -> None:
    ai_how, name, config = shared_cluster.ai_how, shared_cluster.name, shared_cluster.config
    controller, first, second = shared_cluster.vms
    # A host key that is not the pinned one: the run refuses the host, it does not trust it.
    known_hosts = shared_cluster.state / "keys" / "known_hosts"
    pinned = known_hosts.read_text()
    other = [line for line in pinned.splitlines() if line.startswith(f"{first},")][0].split()[2]
    known_hosts.write_text("".join(
        f"{line.split()[0]} {line.split()[1]} {other}\n" if line.startswith(f"{second},") else f"{line}\n"
        for line in pinned.splitlines()))
    try:
        refused = ai_how("hpc", "deploy", config, "--limit", second, expect=3)
    finally:
        known_hosts.write_text(pinned)
    assert f"deploy of {name} failed on {second}" in refused.stderr
    assert "Host key verification failed" in refused.stderr

    failed = ai_how("hpc", "deploy", shared_cluster.bad_config, expect=3)
    shared_cluster.outputs.append(failed)
    assert (f"deploy of {name} failed on {controller} at task 'slurm-common : Partitions name only the cluster's "
            f"compute nodes': partition debug names {name}-compute-09, which is not a compute node of {name}") \
        in failed.stderr
    assert "the run's events and output: " in failed.stderr
    snapshots = json.loads(ai_how("snapshot", "list", name, "--json").stdout)
    assert [(s["reason"][:len("before deploy")], s["consistency"]) for s in snapshots] == [("before deploy",
                                                                                            "frozen")], snapshots
    assert (f"snapshot {snapshots[0]['name']} holds the cluster as it was before this deploy: 'ai-how snapshot "
            f"restore {name} {snapshots[0]['name']}' puts it back") in failed.stderr, failed.stderr
    failure = [e for e in _events(ai_how) if e["type"] == "ClusterDeployFailed"][-1]["payload"]
    assert (failure["host"], failure["task"]) == (controller, "slurm-common : Partitions name only the cluster's "
                                                               "compute nodes")


def test_a_gpu_node_s_slurm_files_are_accepted_by_the_real_daemons(shared_cluster: SharedCluster,
                                                                   tmp_path: Path) -> None:
    ai_how, vms = shared_cluster.ai_how, shared_cluster.vms
    deployed = {vm: {f: ai_how("vm", "ssh", vm, "--", "sudo", "cat", f"/etc/slurm/{f}").stdout
                     for f in ("slurm.conf", "gres.conf")} for vm in vms}
    try:
        _gpu_node_is_accepted(ai_how, shared_cluster.state, *vms, tmp_path)
    finally:
        _put_back(ai_how, vms, deployed)


def test_the_munge_key_is_in_no_event_view_output_or_artifact(shared_cluster: SharedCluster) -> None:
    _no_munge_key_anywhere(shared_cluster.state, shared_cluster.name, shared_cluster.outputs)


@pytest.mark.changes_shared_cluster
def test_a_stop_never_ends_a_job_by_surprise_and_a_drained_node_resumes_after_its_next_start(
        shared_cluster: SharedCluster) -> None:
    """A stop with a job on the node is refused and the job runs on; --force requeues it and
    stops; --drain waits for a short job to end, then stops. The forced node's next start
    resumes it (ai-how drained it) and its requeued job runs again; the one left stopped shows
    down."""
    ai_how, config, (_, first, second) = shared_cluster.ai_how, shared_cluster.config, shared_cluster.vms

    def job_state(job: str) -> str:
        return ai_how("hpc", "ssh", "--", "squeue", "--noheader", "-j", job, "--format", "%T").stdout.strip()

    def events_of(vm: str, kind: str) -> list[dict]:
        return [e["payload"] for line in ai_how("audit", "log", "--json", "--vm", vm).stdout.splitlines()
                if (e := json.loads(line))["type"] == kind]

    job = ai_how("hpc", "ssh", "--", "sbatch", "--parsable", "--requeue", "-w", second, "--wrap",
                 "sleep 600").stdout.strip()
    _wait_for(lambda: job_state(job) == "RUNNING", 60, f"job {job} running on {second}", every_s=1)
    refused = ai_how("vm", "stop", second, "--timeout", "30", expect=1)
    assert f"1 SLURM job(s) run or wait on {second}: job {job} (aihow, 'wrap', running" in refused.stderr, \
        refused.stderr
    assert "--drain" in refused.stderr and "--force" in refused.stderr
    assert job_state(job) == "RUNNING" and states([second]) == {second: "running"}

    forced = ai_how("vm", "stop", second, "--timeout", "30", "--force")
    shared_cluster.outputs.append(forced)
    print(forced.stdout)
    assert f"SLURM job(s) {job} requeued" in forced.stdout and f"stopped {second}" in forced.stdout, forced.stdout
    assert job_state(job) in ("PENDING", "REQUEUED"), "requeued: it waits for its node"
    assert events_of(second, "SlurmJobsRequeued") == [{"requeued": [job], "ended": []}]

    short = ai_how("hpc", "ssh", "--", "sbatch", "--parsable", "-w", first, "--wrap", "sleep 8; echo done").stdout.strip()
    _wait_for(lambda: job_state(short) == "RUNNING", 60, f"job {short} running on {first}", every_s=1)
    drained = ai_how("vm", "stop", first, "--timeout", "30", "--drain", "--drain-timeout", "120")
    shared_cluster.outputs.append(drained)
    print(drained.stdout)
    assert f"SLURM node(s) {first} drained; their jobs ended in " in drained.stdout, drained.stdout
    assert f"stopped {first}" in drained.stdout
    stopped_at = time.monotonic()
    assert (POOL_ROOT / "shared" / shared_cluster.name / "aihow" / f"slurm-{short}.out").read_text() == "done\n"
    assert [e["reason"].startswith("ai-how:") for e in events_of(first, "SlurmNodeDrained")] == [True]

    # One node's start shows the resume (each guest's boot costs minutes on TCG); the other
    # stays stopped, drained by ai-how, for the destroy that follows.
    started = ai_how("vm", "start", second)
    shared_cluster.outputs.append(started)
    assert f"{second}: SLURM node resumed: it takes jobs again" in started.stdout + started.stderr, started
    assert len(events_of(second, "SlurmNodeResumed")) == 1 and events_of(first, "SlurmNodeResumed") == []
    _wait_for(lambda: job_state(job) == "RUNNING", 120, f"the requeued job {job} running again on {second}")
    nodes = ai_how("hpc", "ssh", "--", "sinfo", "--noheader", "--Node", "--format", "%N %t").stdout
    assert f"{second} alloc" in nodes or f"{second} mix" in nodes, nodes
    assert f"{first} drain" in nodes or f"{first} down" in nodes, nodes
    ai_how("hpc", "ssh", "--", "scancel", job)
    _wait_for(lambda: job_state(job) == "", 60, f"job {job} gone", every_s=1)
    # By now (a boot later) SLURM has seen the stopped node go silent (SlurmdTimeout).
    down = _wait_for(lambda: (s := json.loads(ai_how("hpc", "status", config, "--json").stdout)["slurm"])
                     and (s[first].startswith("down") or "not responding" in s[first]) and s, 240,
                     f"{first} shown down by SLURM")
    print(f"{first} shown down {time.monotonic() - stopped_at:.0f} s after its stop: {down}")


def _gpu_node_is_accepted(ai_how, state: Path, controller: str, first: str, second: str, tmp_path: Path) -> None:
    """slurm.conf and gres.conf as the roles render them for a compute with an A100, on the real
    daemons, with the device node the test makes where the card's would be."""
    layout = json.loads((sorted((state / "runs").glob("*-deploy-*"))[0] / "env" / "extravars").read_text())
    for node in layout["slurm_nodes"]:
        if node["name"] == first:
            node["gres"] = [{"type": "a100_pcie_80gb", "count": 1}]
            node["gpu_files"] = [{"type": "a100_pcie_80gb", "file": "/dev/nvidia0"}]
    layout["slurm_partitions"].append({"name": "gpu", "nodes": [], "default": False, "max_time": "INFINITE"})
    files = {name: text for name, text in render_slurm_files(layout, tmp_path / "gpu-conf").items()
             if name in ("slurm.conf", "gres.conf")}
    assert "GresTypes=gpu" in files["slurm.conf"]
    assert "PartitionName=gpu Default=NO" in files["slurm.conf"]  # a partition of no node yet
    ai_how("vm", "ssh", controller, "--", "sudo", "sh", "-c", _writes(files))
    # slurmd first, as the roles' handlers do; one SSH command per node (each costs seconds)
    ai_how("vm", "ssh", first, "--", "sudo", "sh", "-c", "{ [ -e /dev/nvidia0 ] || mknod -m 666 /dev/nvidia0 c 195 0; } "
           f"&& {_writes(files)} && systemctl restart slurmd")
    ai_how("vm", "ssh", second, "--", "sudo", "sh", "-c", f"{_writes(files)} && systemctl restart slurmd")
    ai_how("vm", "ssh", controller, "--", "sudo", "systemctl", "restart", "slurmctld")
    shown = _wait_for(lambda: (out := ai_how("hpc", "ssh", "--", "scontrol", "show", "node", first).stdout)
                      and "State=IDLE" in out and out, 120, f"{first} idle with its GPU")
    assert "Gres=gpu:a100_pcie_80gb:1" in shown
    visible = ai_how("hpc", "ssh", "--", "srun", "-w", first, "--gres=gpu:1", "sh", "-c",
                     "echo $CUDA_VISIBLE_DEVICES").stdout
    assert visible.strip() == "0"
    partitions = ai_how("hpc", "ssh", "--", "sinfo", "--noheader", "--format", "%P %D").stdout.split("\n")
    assert "gpu 0" in partitions


def _writes(files: dict[str, str]) -> str:
    """A shell command that writes each file under /etc/slurm with the given text."""
    return " && ".join(f"echo {base64.b64encode(text.encode()).decode()} | base64 -d > /etc/slurm/{name}"
                       for name, text in files.items())


def _put_back(ai_how, vms: list[str], files: dict[str, dict[str, str]]) -> None:
    """The deployed files again, and the daemons on them, for the tests after."""
    # slurmctld first here: a slurmd that registers without the GPU with a slurmctld still
    # configured with it is drained for the missing gres.
    ai_how("vm", "ssh", vms[0], "--", "sudo", "sh", "-c", f"{_writes(files[vms[0]])} && systemctl restart slurmctld")
    ai_how("vm", "ssh", vms[1], "--", "sudo", "sh", "-c",
           f"{_writes(files[vms[1]])} && rm -f /dev/nvidia0 && systemctl restart slurmd")
    for vm in vms[2:]:
        ai_how("vm", "ssh", vm, "--", "sudo", "sh", "-c", f"{_writes(files[vm])} && systemctl restart slurmd")

    def idle() -> bool:
        states = dict(line.split() for line in ai_how("hpc", "ssh", "--", "sinfo", "--noheader", "--Node",
                                                      "--format", "%N %t").stdout.splitlines())
        for node, state in states.items():  # a drain for the GPU's gres, gone again: this test's doing
            if state.startswith(("drain", "drng")):
                ai_how("hpc", "ssh", "--", "sudo", "scontrol", "update", f"NodeName={node}", "State=RESUME",
                       expect=None)
        return set(states) == set(vms[1:]) and set(states.values()) == {"idle"}

    _wait_for(idle, 120, "both computes idle on the deployed files")


def _no_munge_key_anywhere(state: Path, cluster: str, outputs: list) -> None:
    key_file = state / "keys" / "clusters" / cluster / "munge.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key = key_file.read_bytes()
    forms = [key[:48], key[500:548], base64.b64encode(key)[:64], key.hex()[:64].encode()]
    places = [p for p in state.rglob("*") if p.is_file() and p != key_file]  # the log, the views, every run
    assert any(p.name == "stdout" for p in places) and (state / "events.sqlite") in places
    for place in places:
        try:
            data = place.read_bytes()
        except FileNotFoundError:  # a SQLite -wal file checkpointed away since: its pages are in the file
            continue
        assert not any(form in data for form in forms), place
    for out in outputs:
        text = (out.stdout + out.stderr).encode()
        assert not any(form in text for form in forms)
