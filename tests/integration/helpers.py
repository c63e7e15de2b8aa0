"""Building stores with clusters in them, for the integration tests."""

from __future__ import annotations

from pathlib import Path

from ai_how.app.config.loader import load_config, parse_config
from ai_how.app.config.plan import plan_clusters
from ai_how.domain.commands import ProvisionCluster
from tests.conftest import REPO


def record_example(bus, name: str = "multi-gpu-clusters.yaml") -> None:
    for cluster in plan_clusters(load_config(REPO / "examples" / name)):
        bus.handle(ProvisionCluster(cluster.plan))


def rival_cluster(index: int, pci_address: str = "0000:01:00.0") -> dict:
    """A one-node HPC cluster whose compute node uses ``pci_address``: one per operator."""
    return {"clusters": {"hpc": {
        "name": f"race-{index:02d}",
        "network": {"subnet": f"10.{100 + index}.0.0/24", "bridge": f"br-race{index}", "forward": "none"},
        "controller": {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 1, "ip": f"10.{100 + index}.0.10"},
        "compute_nodes": [{
            "cpu_cores": 1, "memory_gb": 1, "disk_gb": 1, "ip": f"10.{100 + index}.0.11",
            "pcie_passthrough": {"enabled": True, "devices": [
                {"pci_address": pci_address, "device_type": "gpu", "vendor_id": "10de", "device_id": "2684"}]},
        }],
    }}}


def record_rivals(bus, count: int) -> list[str]:
    """Record ``count`` clusters whose compute nodes all want one GPU; returns those VM names."""
    names = []
    for index in range(count):
        for cluster in plan_clusters(parse_config(rival_cluster(index), env={})):
            bus.handle(ProvisionCluster(cluster.plan))
            names.append(f"{cluster.name}-compute-01")
    return names


def db_file(state_dir: Path) -> Path:
    return state_dir / "events.sqlite"
