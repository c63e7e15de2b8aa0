"""The HPC cluster as SLURM sees it: nodes, GPUs and partitions, from the VM specs and
``slurm_config``. This is the data the roles' templates write slurm.conf and gres.conf from;
it is recorded with each deployment (``ClusterDeployStarted``), so the log says what was
deployed. No secret is part of it: the MUNGE key travels by path, added at run time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ai_how.domain.gpu_models import model_name
from ai_how.domain.specs import VmPlan, VmRecord, VmSpec

DEFAULT_PARTITION = "batch"
GPU_PARTITION = "gpu"  # holds the GPU nodes only, unless the config lists its nodes


def settings_of(slurm_config: Any) -> dict[str, Any]:
    """The config's ``slurm_config`` (a ``SlurmConfig`` or None) as plain data for ``DeployCluster``."""
    if slurm_config is None:
        return {}
    return slurm_config.model_dump(mode="json", exclude_none=True)


def os_share_mb(memory_mb: int) -> int:
    """What the guest's kernel and daemons keep: a tenth of the VM's memory, at least 256 MB.
    slurmd drains a node that reports less memory than RealMemory, and a guest never sees all
    of its VM's memory."""
    return max(256, memory_mb // 10)


def gres_type(model: str) -> str:
    """A GPU model as a GRES type: 'NVIDIA A100 PCIe 80GB' -> 'a100_pcie_80gb'."""
    text = model.removeprefix("NVIDIA ").lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "gpu"


def _node(name: str, spec: VmSpec) -> dict[str, Any]:
    memory_mb = int(spec.memory_gb * 1024)
    models = []
    for address in spec.gpus:
        primary = next((d for d in spec.devices if d.pci_address == address), None)
        models.append(gres_type(model_name(primary.vendor_id, primary.device_id) if primary else "gpu"))
    counts = Counter(models)
    return {"name": name, "address": spec.ip, "cpus": spec.cpu_cores,
            "real_memory_mb": memory_mb - os_share_mb(memory_mb),
            "gres": [{"type": kind, "count": count} for kind, count in sorted(counts.items())],
            "gpu_files": [{"type": kind, "file": f"/dev/nvidia{index}"} for index, kind in enumerate(models)]}


def _partitions(settings: dict[str, Any], nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = settings.get("partitions") or [DEFAULT_PARTITION]
    default = settings.get("default_partition")
    max_time = settings.get("max_job_time", "INFINITE")
    every = [n["name"] for n in nodes]
    gpu_nodes = [n["name"] for n in nodes if n["gres"]]
    partitions = []
    for index, entry in enumerate(wanted):
        entry = {"name": entry} if isinstance(entry, str) else entry
        name = entry["name"]
        members = entry.get("nodes")
        if members is None:
            members = gpu_nodes if name == GPU_PARTITION else every
        partitions.append({"name": name, "nodes": list(members),
                           "default": name == default if default else index == 0,
                           "max_time": entry.get("max_time", max_time)})
    return partitions


def slurm_layout(cluster: str, vms: Sequence[VmRecord | VmPlan], settings: dict[str, Any]) -> dict[str, Any]:
    """The roles' variables for ``cluster``, whose VMs (recorded or planned) are ``vms``:
    every compute node is in slurm.conf, running or not, so one that is off shows as down."""
    controller = next(vm for vm in vms if vm.role == "controller")
    nodes = [_node(vm.name, vm.spec) for vm in vms if vm.role == "compute"]
    return {"slurm_cluster_name": cluster,
            "slurm_controller": {"name": controller.name, "address": controller.spec.ip},
            "slurm_nodes": nodes,
            "slurm_partitions": _partitions(settings, nodes),
            "slurm_accounting": bool(settings.get("accounting", False))}
