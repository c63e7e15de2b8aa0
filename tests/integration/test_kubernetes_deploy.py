"""Kubernetes on real guests, by the real adapter and ansible-runner, through a stand-in
Kubespray checkout (tests/fakes/kubespray: Kubespray cannot be downloaded here).

Three Debian guests on TCG and an isolated network: the control plane and a CPU worker run,
the GPU worker is left off (auto_start: false), as when HPC holds its card. ``ai-how
kubespray setup`` makes the checkout's own venv for real; the deploy runs the checkout's
cluster.yml with the generated inventory over SSH with pinned host keys, fetches the
admin.conf it wrote on the control plane and keeps it 0600 with its server rewritten. No API
server can run here: the nodes' readiness, labels, taints, cordon and drain go through the
real kubernetes client to kmock's emulator on loopback, where the test registers each node as
its kubelet would. The GPU worker's late start makes it join through scale.yml (NodeJoined);
stopping it drains it first. A failing Kubespray task ends in KubernetesDeployFailed naming
the host and the task, exit 3. The kubeconfig's token appears in no event, view or artifact.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
import yaml

from ai_how.adapters.kubernetes.client import KubernetesClientApi
from ai_how.app.bootstrap import bootstrap
from ai_how.app.config.loader import load_config
from ai_how.app.config.validation import validate_config
from ai_how.app.deploy.kubespray.checkout import read_checkout
from ai_how.app.deploy.kubespray.saga import deploy_command
from ai_how.domain.commands import StartVms, StopVms
from ai_how.domain.ids import cluster_id
from tests.conftest import REPO
from tests.fakes.kube_api import emulated_api_server, register_node

from .conftest import KUBESPRAY_VENV_DIR, URI, guest_env, remove_leftovers

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt, pytest.mark.boots_own_guests]
STANDIN = REPO / "tests" / "fakes" / "kubespray"


@pytest.fixture
def cloud_cluster(tmp_path: Path, libvirtd) -> dict:
    import secrets

    tag = secrets.token_hex(2)
    octet = 200 + int(tag, 16) % 50
    name = f"kc-{tag}"
    net = f"10.{octet}.20"
    small = {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 4}
    doc = {"version": "1.0", "clusters": {"cloud": {
        "name": name, "base_image": "hpc-base",
        "network": {"subnet": f"{net}.0/24", "bridge": f"aihowkc{tag}", "forward": "none"},
        "control_plane": {**small, "ip": f"{net}.10"},
        "worker_nodes": {"cpu": [{**small, "ip": f"{net}.11"}],
                         "gpu": [{**small, "worker_type": "gpu", "ip": f"{net}.12", "auto_start": False,
                                  "node_labels": {"workload-type": "inference"},
                                  "node_taints": [{"key": "nvidia.com/gpu", "value": "present",
                                                   "effect": "NoSchedule"}]}]},
        "kubernetes_config": {"version": "1.32", "networking": {"cni": "calico", "pod_cidr": "10.244.0.0/16",
                                                                "service_cidr": "10.96.0.0/12"}}}}}
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml.safe_dump(doc))
    vms = [f"{name}-control-plane", f"{name}-cpu-worker-01", f"{name}-gpu-worker-01"]
    yield {"name": name, "config": config, "vms": vms, "ips": [f"{net}.10", f"{net}.11", f"{net}.12"]}
    remove_leftovers(name, vms)


def test_kubespray_deploys_joins_and_drains_on_real_guests(cloud_cluster: dict, ai_how, tmp_path: Path) -> None:
    name, config, (control, cpu, gpu) = cloud_cluster["name"], cloud_cluster["config"], cloud_cluster["vms"]
    state = tmp_path / "state"
    ai_how("image", "build", "hpc-base")
    made = ai_how("kubespray", "setup", str(STANDIN))
    release = yaml.safe_load((STANDIN / "galaxy.yml").read_text())["version"]
    assert f"Kubespray {release} at {STANDIN} is ready: {KUBESPRAY_VENV_DIR}/venv-{release}-" in made.stdout
    shown = json.loads(ai_how("kubespray", "show", str(STANDIN), "--json").stdout)
    # What ai-how made of the checkout's checksums: every kubelet version for this machine, newest first.
    kubelets = yaml.safe_load((STANDIN / "roles/kubespray_defaults/vars/main/checksums.yml").read_text())
    offered = [str(v) for v in kubelets["kubelet_checksums"]["amd64"]]
    assert shown["ready"] and sorted(shown["kube_versions"]) == sorted(offered) and len(offered) > 2
    assert shown["kube_versions"] == sorted(offered, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    resolved = next(v for v in shown["kube_versions"] if v.startswith("1.32."))  # the config asks for 1.32
    started = ai_how("cloud", "start", str(config))
    assert f"left off (auto_start: false): {gpu}" in started.stdout

    parsed = load_config(config)
    planned = next(c for c in validate_config(parsed).clusters if c.kind == "cloud")
    checkout = read_checkout(STANDIN)
    with emulated_api_server() as api:
        for node in (control, cpu):  # their kubelets register them
            register_node(api, node)
        bus = bootstrap(state, libvirt_uri=URI, env=guest_env(state), kubernetes=KubernetesClientApi(server=api.url))
        try:
            command = deploy_command(planned, checkout, Path(KUBESPRAY_VENV_DIR), addons=False)
            started_run = bus.handle(command)
            cluster = bus.store.read(cluster_id(name))
            assert cluster.last_deploy.status == "deployed", cluster.last_deploy
            assert cluster.kube.version == resolved
            assert cluster.kube.nodes == (control, cpu)

            # The kubeconfig: from the control plane, 0600, its server the control plane's address.
            kubeconfig = Path(cluster.kube.kubeconfig)
            assert kubeconfig == state / "kube" / f"{name}.conf"
            assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
            fetched = yaml.safe_load(kubeconfig.read_text())
            assert fetched["clusters"][0]["cluster"]["server"] == f"https://{cloud_cluster['ips'][0]}:6443"
            token = fetched["users"][0]["user"]["token"]
            on_guest = ai_how("vm", "ssh", control, "--", "sudo", "cat", "/etc/kubernetes/admin.conf").stdout
            assert token in on_guest and "server: https://127.0.0.1:6443" in on_guest

            # The inventory Kubespray ran with, and what Kubespray's own checks made of it.
            run_dir = state / "runs" / started_run.run_id
            hosts = yaml.safe_load((run_dir / "inventory" / "hosts.yaml").read_text())
            assert list(hosts["all"]["children"]["kube_node"]["hosts"]) == [cpu]
            assert list(hosts["all"]["children"]["etcd"]["hosts"]) == [control]
            k8s_vars = yaml.safe_load((run_dir / "inventory" / "group_vars" / "k8s_cluster" / "ai-how.yml").read_text())
            assert (k8s_vars["kube_version"], k8s_vars["kube_pods_subnet"]) == (resolved, "10.244.0.0/16")
            stdout = (run_dir / "artifacts" / started_run.run_id / "stdout").read_text()
            assert "Stop if unsupported version of Kubernetes" in stdout
            nodes = {n.name: n for n in bus.dependencies["kubernetes"].nodes(kubeconfig)}
            assert nodes[cpu].labels["ai-how/role"] == "cpu-worker"

            # The GPU worker starts later (HPC gave its card back): it joins by scale.yml.
            register_node(api, gpu)
            bus.handle(StartVms((gpu,)))
            cluster = bus.store.read(cluster_id(name))
            assert cluster.kube.nodes == (control, cpu, gpu)
            log = [e.event_type for e in bus.store.read_log()]
            assert log.index("NodeJoined") > log.index("GuestReady", log.index("KubernetesDeployed"))
            joined = ai_how("vm", "ssh", gpu, "--", "sudo", "cat", "/etc/kubernetes/kubelet.conf").stdout
            assert joined == f"joined {gpu} running {resolved}\n"
            node = {n.name: n for n in bus.dependencies["kubernetes"].nodes(kubeconfig)}[gpu]
            assert node.labels["workload-type"] == "inference" and node.labels["ai-how/role"] == "gpu-worker"
            assert node.taints == ("nvidia.com/gpu=present:NoSchedule",)

            # Before its VM stops, the node is cordoned and its pods evicted.
            api.add_pod("serving", "predictor-0", gpu)
            stopped = bus.handle(StopVms((gpu,)))
            assert len(stopped.notes) == 1 and stopped.notes[0].startswith(f"{gpu} drained: 1 pod(s) moved in ")
            assert {n.name: n for n in bus.dependencies["kubernetes"].nodes(kubeconfig)}[gpu].unschedulable
            assert bus.dependencies["kubernetes"].pods_on(kubeconfig, gpu) == []
            assert bus.store.read(cluster_id(name)).drained == [gpu]
        finally:
            bus.close()

    # A Kubespray task that fails: one line naming the host and the task, exit 3, recorded.
    broken = tmp_path / "kubespray-broken"
    shutil.copytree(STANDIN, broken)
    tasks = broken / "roles" / "standin_control_plane" / "tasks" / "main.yml"
    tasks.write_text(tasks.read_text() + "\n- name: Initialise the control plane\n"
                     "  ansible.builtin.command: /bin/false\n  changed_when: false\n")
    failed = ai_how("cloud", "deploy", str(config), "--kubespray", str(broken), "--no-addons", expect=3)
    assert (f"deploy of {name} failed on {control} at task 'standin_control_plane : Initialise the control plane'"
            in failed.stderr), failed.stderr
    assert "Traceback" not in failed.stderr
    events = [json.loads(line) for line in ai_how("audit", "log", "--json").stdout.splitlines()]
    failure = [e for e in events if e["type"] == "KubernetesDeployFailed"][-1]["payload"]
    assert (failure["host"], failure["task"]) == (control, "standin_control_plane : Initialise the control plane")

    # The API server is not reachable here: the status says so in one line and still shows the VMs.
    status = json.loads(ai_how("cloud", "status", str(config), "--json").stdout)
    assert status["nodes"] is None and "cannot reach the API server" in status["nodes_error"]

    # The admin token is in the kubeconfig only: not in the log, the views or any run's files.
    log_text = ai_how("audit", "log", "--json").stdout + ai_how("topology", "--json").stdout
    assert token not in log_text
    for path in (state / "runs").rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="replace"), path
