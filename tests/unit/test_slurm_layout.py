"""The SLURM layout from cluster.yaml: nodes sized from the VM specs, GRES from their cards,
partitions from slurm_config (a 'gpu' partition holds the GPU nodes only)."""

from __future__ import annotations

import pytest

from ai_how.app.config.loader import load_config
from ai_how.app.config.models import SlurmConfig
from ai_how.app.config.plan import plan_clusters
from ai_how.app.deploy.slurm.layout import gres_type, os_share_mb, settings_of, slurm_layout
from tests.conftest import REPO


def _layout(example: str, slurm_config: dict | None = None) -> dict:
    config = load_config(REPO / "examples" / example)
    hpc = next(c for c in plan_clusters(config) if c.kind == "hpc")
    settings = settings_of(SlurmConfig(**slurm_config) if slurm_config is not None else hpc.section.slurm_config)
    return slurm_layout(hpc.name, hpc.plan.vms, settings)


def test_the_gpu_example_has_typed_gres_and_its_partitions() -> None:
    layout = _layout("multi-gpu-clusters.yaml")
    assert layout["slurm_controller"] == {"name": "hpc-cluster-controller", "address": "192.168.100.10"}
    nodes = {n["name"]: n for n in layout["slurm_nodes"]}
    first = nodes["hpc-cluster-compute-01"]
    assert (first["cpus"], first["real_memory_mb"]) == (8, 16384 - 1638)
    assert first["gres"] == [{"type": "geforce_rtx_4090", "count": 1}]
    assert first["gpu_files"] == [{"type": "geforce_rtx_4090", "file": "/dev/nvidia0"}]
    assert nodes["hpc-cluster-compute-02"]["gres"] == [{"type": "rtx_a6000", "count": 1}]
    # slurm_config: partitions [gpu, debug], default gpu, max_job_time 24:00:00
    assert layout["slurm_partitions"] == [
        {"name": "gpu", "nodes": ["hpc-cluster-compute-01", "hpc-cluster-compute-02"], "default": True,
         "max_time": "24:00:00"},
        {"name": "debug", "nodes": ["hpc-cluster-compute-01", "hpc-cluster-compute-02"], "default": False,
         "max_time": "24:00:00"}]
    assert layout["slurm_accounting"] is False


def test_without_slurm_config_every_compute_is_in_one_default_partition() -> None:
    layout = _layout("minimal.yaml")
    assert [n["real_memory_mb"] for n in layout["slurm_nodes"]] == [1024 - 256, 1024 - 256]
    assert all(n["gres"] == [] and n["gpu_files"] == [] for n in layout["slurm_nodes"])
    assert layout["slurm_partitions"] == [{"name": "batch", "nodes": ["mini-hpc-compute-01", "mini-hpc-compute-02"],
                                           "default": True, "max_time": "INFINITE"}]


def test_a_gpu_partition_on_a_cpu_cluster_holds_no_node_and_listed_nodes_are_kept_as_given() -> None:
    layout = _layout("minimal.yaml", {"partitions": ["gpu", {"name": "short", "nodes": ["mini-hpc-compute-02"],
                                                              "max_time": "30"}],
                                      "default_partition": "short", "accounting": True})
    assert layout["slurm_partitions"] == [
        {"name": "gpu", "nodes": [], "default": False, "max_time": "INFINITE"},
        {"name": "short", "nodes": ["mini-hpc-compute-02"], "default": True, "max_time": "30"}]
    assert layout["slurm_accounting"] is True


@pytest.mark.parametrize(("memory_mb", "kept"), [(1024, 256), (2048, 256), (4096, 409), (65536, 6553)])
def test_the_os_keeps_a_tenth_of_memory_and_at_least_256_mb(memory_mb: int, kept: int) -> None:
    assert os_share_mb(memory_mb) == kept


@pytest.mark.parametrize(("model", "kind"), [("NVIDIA A100 PCIe 80GB", "a100_pcie_80gb"), ("NVIDIA Tesla T4", "tesla_t4"),
                                             ("NVIDIA 10de:abcd", "10de_abcd"), ("10de:abcd", "10de_abcd")])
def test_gres_types_are_slurm_words(model: str, kind: str) -> None:
    assert gres_type(model) == kind
