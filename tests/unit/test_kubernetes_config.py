"""kubernetes_config in both shapes, the Kubespray checkout's release and versions, the
inventory's variables, and the Cluster's Kubernetes events: no I/O beyond tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ai_how.app.config.kubernetes_models import KubernetesConfig
from ai_how.app.config.loader import load_config
from ai_how.app.config.validation import validate_config
from ai_how.app.deploy.kubespray.checkout import KubesprayMissing, read_checkout, setup
from ai_how.app.deploy.kubespray.inventory import kubernetes_settings, kubespray_inventory
from ai_how.app.ports import VenvInstaller
from ai_how.app.settings import resolve_kubespray_venvs
from ai_how.domain.cluster import Cluster
from ai_how.domain.errors import InvalidTransition
from ai_how.domain.specs import ClusterPlan, VmPlan, VmSpec
from tests.conftest import REPO

STANDIN = REPO / "tests" / "fakes" / "kubespray"


def test_the_short_shape_reads_as_the_detailed_one() -> None:
    short = KubernetesConfig.model_validate({"cni": "cilium", "ingress": "nginx", "storage_class": "nfs"})
    assert (short.networking.cni, short.ingress.enabled, short.ingress.provider, short.storage.default_class) == \
        ("cilium", True, "nginx", "nfs")
    assert KubernetesConfig.model_validate({"ingress": "none"}).ingress.enabled is False
    default = KubernetesConfig()
    assert (str(default.networking.pod_cidr), str(default.networking.service_cidr)) == \
        ("10.233.64.0/18", "10.233.0.0/18")  # Kubespray's own defaults
    assert default.version is None and default.auto_join is True


def test_a_key_given_in_both_shapes_is_refused() -> None:
    with pytest.raises(ValueError, match="give the CNI once"):
        KubernetesConfig.model_validate({"cni": "calico", "networking": {"cni": "flannel"}})


def test_the_checkout_s_release_and_versions_are_read_from_its_files(tmp_path: Path) -> None:
    checkout = read_checkout(STANDIN)
    assert checkout.version == "2.29.0"
    assert checkout.kube_versions[0] == "1.33.5" and checkout.kube_versions[-1] == "1.31.0"
    assert checkout.resolve("1.32") == "1.32.9" and checkout.resolve("v1.33.2") == "1.33.2"
    assert checkout.resolve(None) == "1.33.5"
    with pytest.raises(Exception, match=r"Kubernetes 1.28 is not one Kubespray 2.29.0 .* supports \(1.31.0 to 1.33.5\)"):
        checkout.resolve("1.28")
    with pytest.raises(KubesprayMissing, match="no Kubespray checkout is known"):
        read_checkout(None)
    with pytest.raises(KubesprayMissing, match="is not a Kubespray checkout"):
        read_checkout(tmp_path)
    venvs = resolve_kubespray_venvs(tmp_path, {})
    venv = checkout.venv(venvs)
    assert venv.parent == tmp_path / "kubespray" and venv.name.startswith("venv-2.29.0-")
    assert resolve_kubespray_venvs(tmp_path, {"AI_HOW_KUBESPRAY_VENV_DIR": "/cache/k"}) == Path("/cache/k")
    with pytest.raises(KubesprayMissing, match=f"ai-how kubespray setup {checkout.path}"):
        checkout.ansible_playbook(venvs)


class _CountingInstaller(VenvInstaller):
    """Makes a venv's marker files only: counts how often ai-how asked for one."""

    def __init__(self) -> None:
        self.made: list[Path] = []

    def make(self, requirements: Path, venv: Path, on_line) -> Path:
        self.made.append(venv)
        (venv / "bin").mkdir(parents=True, exist_ok=True)
        (venv / "bin" / "ansible-playbook").touch()
        (venv / ".complete").touch()
        return venv / "bin" / "ansible-playbook"


def test_a_venv_made_whole_is_used_again_unless_rebuilt(tmp_path: Path) -> None:
    checkout = read_checkout(STANDIN)
    venv = checkout.venv(tmp_path)
    installer, said = _CountingInstaller(), []
    first = setup(checkout, tmp_path, installer, said.append)
    assert setup(checkout, tmp_path, installer, said.append) == first == checkout.ansible_playbook(tmp_path)
    assert installer.made == [venv]
    assert said == [f"{venv} was made for this requirements.txt already; --rebuild makes it anew"]
    (venv / ".complete").unlink()  # a make that died half way is made again
    setup(checkout, tmp_path, installer, said.append)
    setup(checkout, tmp_path, installer, said.append, rebuild=True)
    assert installer.made == [venv] * 3


def test_the_inventory_keeps_the_node_labels_and_taints_and_only_the_hosts_given() -> None:
    config = load_config(REPO / "tests" / "data" / "oumi-plan-cloud.yaml")
    planned = next(c for c in validate_config(config).clusters if c.kind == "cloud")
    settings = kubernetes_settings(planned.section, planned.vms)
    hosts = [{"name": vm.name, "role": vm.plan.role, "ip": vm.plan.spec.ip} for vm in planned.vms
             if vm.plan.role != "gpu-worker"]  # the GPU workers are off
    files = kubespray_inventory(planned.name, hosts, settings, "1.32.9", {"ansible_user": "aihow"})
    inventory = files["hosts.yaml"]["all"]
    assert sorted(inventory["hosts"]) == ["cloud-cluster-control-plane", "cloud-cluster-cpu-worker-01"]
    assert list(inventory["children"]["kube_node"]["hosts"]) == ["cloud-cluster-cpu-worker-01"]
    gpu = settings["nodes"]["cloud-cluster-gpu-worker-01"]
    assert gpu["taints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert gpu["labels"]["gpu-type"] == "rtx-a6000" and gpu["labels"]["nvidia.com/gpu.present"] == "true"
    k8s = files["group_vars/k8s_cluster/ai-how.yml"]
    assert (k8s["kube_version"], k8s["calico_version"], k8s["containerd_version"], k8s["ingress_nginx_enabled"]) \
        == ("1.32.9", "3.27", "1.7", True)
    warnings = {f.path for f in validate_config(config).warnings}
    assert {"clusters.cloud.kubernetes_config.ingress.replicas",
            "clusters.cloud.kubernetes_config.ingress.load_balancer_ip"} <= warnings  # nothing in Kubespray for them


def test_a_control_plane_alone_is_also_the_node() -> None:
    files = kubespray_inventory("c", [{"name": "c-control-plane", "role": "control-plane", "ip": "10.0.0.10"}],
                                {"nodes": {}, "cluster_vars": {}}, None, {})
    assert list(files["hosts.yaml"]["all"]["children"]["kube_node"]["hosts"]) == ["c-control-plane"]
    assert "kube_version" not in files["group_vars/k8s_cluster/ai-how.yml"]  # the checkout's default


def _cloud(tmp_path: Path) -> Cluster:
    spec = VmSpec(1, 1, 4, "10.0.0.10", base_image_path="/x.qcow2")
    plan = ClusterPlan("k", "cloud", "d", {"subnet": "10.0.0.0/24", "bridge": "b", "gateway": "10.0.0.1"},
                       (VmPlan("k-control-plane", "k", "control-plane", spec),
                        VmPlan("k-gpu-worker-01", "k", "gpu-worker", spec)), ())
    cluster = Cluster.provision(plan)
    cluster.mark_started()
    return cluster


def test_kubernetes_is_recorded_then_a_late_node_joins_and_a_drained_one_resumes(tmp_path: Path) -> None:
    cluster = _cloud(tmp_path)
    with pytest.raises(InvalidTransition, match="no Kubernetes yet"):
        cluster.record_node_joined("k-gpu-worker-01", "r0", 1.0)
    cluster.start_kubernetes_deploy("r1", "p", "d", "c", "2.29.0", "1.33.5", ["k-control-plane"], [],
                                    {"settings": {"auto_join": True}})
    assert cluster.deploying.run_id == "r1" and cluster.deploying.kube_version == "1.33.5"
    cluster.mark_kubernetes_deployed("r1", "1.33.5", ["k-control-plane"], "/state/kube/k.conf", 12.0, {})
    assert cluster.nodes == ["k-control-plane"] and cluster.kube.layout == {"settings": {"auto_join": True}}
    assert cluster.kube.auto_join and cluster.kube.drain_timeout_s == 120
    cluster.record_node_joined("k-gpu-worker-01", "r2", 30.0)
    cluster.record_node_joined("k-gpu-worker-01", "r3", 30.0)  # already a node: nothing more recorded
    cluster.record_node_drained("k-gpu-worker-01", ["serving/p"], 3.0)
    assert cluster.drained == ["k-gpu-worker-01"] and cluster.kube.drained == ("k-gpu-worker-01",)
    cluster.record_node_resumed("k-gpu-worker-01")
    names = [type(e).__name__ for e in cluster.collect_events()]
    assert names == ["ClusterProvisioned", "ClusterStarted", "KubernetesDeployStarted", "KubernetesDeployed",
                     "NodeJoined", "NodeDrained", "NodeResumed"]


def test_kubernetes_goes_on_the_cloud_cluster_only() -> None:
    spec = VmSpec(1, 1, 4, "10.0.0.10")
    hpc = Cluster.provision(ClusterPlan("h", "hpc", "d", {}, (VmPlan("h-controller", "h", "controller", spec),), ()))
    hpc.mark_started()
    with pytest.raises(InvalidTransition, match="Kubernetes runs on the cloud one"):
        hpc.start_kubernetes_deploy("r", "p", "d", "c", "2.29.0", "1.33.5", [], [], {})


def test_the_multi_gpu_example_s_inventory_as_written(tmp_path: Path) -> None:
    config = load_config(REPO / "examples" / "multi-gpu-clusters.yaml")
    planned = next(c for c in validate_config(config, list(read_checkout(STANDIN).kube_versions)).clusters
                   if c.kind == "cloud")
    settings = kubernetes_settings(planned.section, planned.vms)
    files = kubespray_inventory(planned.name, [{"name": v.name, "role": v.plan.role, "ip": v.plan.spec.ip}
                                               for v in planned.vms], settings,
                                read_checkout(STANDIN).resolve(settings["version"]), {})
    text = yaml.safe_dump(files["hosts.yaml"])
    assert "cloud-cluster-gpu-worker-01" in text and "workload-type: inference" in text
