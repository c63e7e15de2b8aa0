"""The ansible/ tree: every playbook passes Ansible's syntax check and ansible-lint, every
role documents its variables, and the SLURM templates write what the cluster's config says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ai_how.app.config.loader import load_config
from ai_how.app.config.plan import plan_clusters
from ai_how.app.deploy.slurm.layout import settings_of, slurm_layout
from tests.ansible_render import render_slurm_files
from tests.conftest import REPO

ANSIBLE = REPO / "ansible"
BIN = Path(sys.executable).parent
ROLES = sorted(p.name for p in (ANSIBLE / "roles").iterdir())


def _env() -> dict[str, str]:
    return {"ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"), "PATH": f"{BIN}:/usr/bin:/bin", "HOME": "/root"}


@pytest.mark.parametrize("playbook", sorted(p.name for p in (ANSIBLE / "playbooks").glob("*.yml")))
def test_every_playbook_passes_the_syntax_check(playbook: str, tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"slurm": {"children": {
        "slurm_controller": {"hosts": {"c": {}}}, "slurm_compute": {"hosts": {"n": {}}}}},
        "kube_control_plane": {"hosts": {"cp": {}}}, "kube_node": {"hosts": {"w": {}}}}}}))
    out = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inventory),
                          "-e", f"kubespray_dir={REPO / 'tests' / 'fakes' / 'kubespray'}",
                          f"playbooks/{playbook}"], cwd=ANSIBLE, capture_output=True, text=True, env=_env())
    assert out.returncode == 0, out.stdout + out.stderr


def test_ansible_lint_passes_on_the_whole_tree() -> None:
    out = subprocess.run([str(BIN / "ansible-lint"), "--offline", "--nocolor", "playbooks", "roles"], cwd=ANSIBLE,
                         capture_output=True, text=True, env=_env())
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("role", ROLES)
def test_every_role_documents_its_defaults_and_arguments(role: str) -> None:
    folder = ANSIBLE / "roles" / role
    defaults = yaml.safe_load((folder / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((folder / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert set(defaults) <= set(specs), f"{role}: defaults without an argument spec: {set(defaults) - set(specs)}"
    text = (folder / "defaults" / "main.yml").read_text()
    assert text.count("\n#") >= 1, f"{role}: defaults/main.yml says nothing about its variables"


def _layout(example: str) -> dict:
    hpc = next(c for c in plan_clusters(load_config(REPO / "examples" / example)) if c.kind == "hpc")
    return slurm_layout(hpc.name, hpc.plan.vms, settings_of(hpc.section.slurm_config))


def test_the_gpu_example_s_slurm_conf_and_gres_conf(tmp_path: Path) -> None:
    files = render_slurm_files(_layout("multi-gpu-clusters.yaml"), tmp_path)
    conf = files["slurm.conf"].splitlines()
    assert "ClusterName=hpc-cluster" in conf
    assert "SlurmctldHost=hpc-cluster-controller(192.168.100.10)" in conf
    assert "GresTypes=gpu" in conf
    assert ("NodeName=hpc-cluster-compute-01 NodeAddr=192.168.100.11 CPUs=8 RealMemory=14746 "
            "Gres=gpu:geforce_rtx_4090:1 State=UNKNOWN") in conf
    assert ("PartitionName=gpu Nodes=hpc-cluster-compute-01,hpc-cluster-compute-02 Default=YES "
            "MaxTime=24:00:00 State=UP") in conf
    assert "AccountingStorageType=accounting_storage/slurmdbd" not in files["slurm.conf"]
    assert files["gres.conf"].splitlines()[-2:] == [
        "NodeName=hpc-cluster-compute-01 Name=gpu Type=geforce_rtx_4090 File=/dev/nvidia0",
        "NodeName=hpc-cluster-compute-02 Name=gpu Type=rtx_a6000 File=/dev/nvidia0"]
    assert {"ConstrainCores=yes", "ConstrainRAMSpace=yes", "ConstrainDevices=yes"} <= set(files["cgroup.conf"].split())


def test_a_cpu_cluster_has_no_gres_and_accounting_when_asked(tmp_path: Path) -> None:
    layout = {**_layout("minimal.yaml"), "slurm_accounting": True}
    files = render_slurm_files(layout, tmp_path)
    assert "GresTypes" not in files["slurm.conf"] and "Gres=" not in files["slurm.conf"]
    assert "AccountingStorageType=accounting_storage/slurmdbd" in files["slurm.conf"]
    assert "NodeName=" not in files["gres.conf"]


def test_a_partition_of_no_node_names_none(tmp_path: Path) -> None:
    layout = _layout("minimal.yaml")
    layout["slurm_partitions"].append({"name": "gpu", "nodes": [], "default": False, "max_time": "INFINITE"})
    conf = render_slurm_files(layout, tmp_path)["slurm.conf"].splitlines()
    assert "PartitionName=gpu Default=NO MaxTime=INFINITE State=UP" in conf
