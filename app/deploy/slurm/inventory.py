"""The HPC cluster's Ansible inventory, from the log: the VMs that run, never a hand-kept list.

Groups ``slurm_controller``, ``slurm_compute`` and ``slurm_gpu`` (the computes that hold
GPUs), children of ``slurm``. Each host has ``ansible_host``, ``cpus``, ``memory_mb`` and, on
GPU nodes, ``gpus`` (each card's PCI address, ids and model). SSH goes through the platform's
key and the pinned known_hosts, with host key checking on: no trust on first use.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import KeyStore
from ai_how.domain.gpu_models import model_name
from ai_how.domain.specs import VmSpec

GROUPS = {"controller": "slurm_controller", "compute": "slurm_compute"}


def _gpus(spec: VmSpec) -> list[dict[str, str]]:
    cards = []
    for address in spec.gpus:
        primary = next((d for d in spec.devices if d.pci_address == address), None)
        if primary is not None:
            cards.append({"pci_address": address, "vendor_id": primary.vendor_id, "device_id": primary.device_id,
                          "model": model_name(primary.vendor_id, primary.device_id)})
    return cards


def hpc_inventory(topology: Any, cluster: str, private_key: Path, known_hosts: Path) -> dict[str, Any]:
    """``{group: {host: vars}}`` and ``vars`` for every host; only the cluster's running VMs."""
    if cluster not in topology.clusters or topology.clusters[cluster].get("status") == "destroyed":
        raise UsageError(f"cluster {cluster} has not been started here; start it with 'ai-how hpc start CONFIG'")
    groups: dict[str, dict[str, dict[str, Any]]] = {"slurm_controller": {}, "slurm_compute": {}, "slurm_gpu": {}}
    logins = set()
    for vm in topology.vms_of(cluster):
        name, spec = vm.name, vm.spec
        if not vm.running or not spec.ip:
            continue
        logins.add(spec.login)
        host = {"ansible_host": spec.ip, "cpus": spec.cpu_cores, "memory_mb": int(spec.memory_gb * 1024)}
        cards = _gpus(spec)
        if cards:
            host["gpus"] = cards
        groups[GROUPS.get(vm.role, "slurm_compute")][name] = host
        if cards and vm.role == "compute":
            groups["slurm_gpu"][name] = {}
    if not groups["slurm_controller"]:
        raise UsageError(f"the controller of {cluster} is not running; start it with 'ai-how hpc start CONFIG'")
    options = ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
               "-o", "IdentitiesOnly=yes"]
    common = {"ansible_user": sorted(logins)[0], "ansible_become": True,
              "ansible_ssh_private_key_file": str(private_key), "ansible_ssh_common_args": shlex.join(options),
              "ansible_python_interpreter": "/usr/bin/python3", "slurm_cluster_name": cluster}
    return {"groups": groups, "vars": common}


def ansible_inventory(inventory: dict[str, Any]) -> dict[str, Any]:
    """The groups under ``slurm``, as the YAML inventory Ansible reads."""
    children = {group: {"hosts": hosts} for group, hosts in inventory["groups"].items()}
    return {"all": {"vars": inventory["vars"], "children": {"slurm": {"children": children}}}}


def render_yaml(inventory: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(ansible_inventory(inventory), sort_keys=False, default_flow_style=False)


def _ini_value(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return shlex.quote(text) if any(c in text for c in " '\"[]{}") else text


def render_ini(inventory: dict[str, Any]) -> str:
    lines = []
    for group, hosts in inventory["groups"].items():
        lines.append(f"[{group}]")
        for host, hostvars in hosts.items():
            lines.append(" ".join([host, *(f"{k}={_ini_value(v)}" for k, v in hostvars.items())]))
        lines.append("")
    lines += ["[slurm:children]", *inventory["groups"], "", "[all:vars]"]
    lines += [f"{k}={_ini_value(v)}" for k, v in inventory["vars"].items()]
    return "\n".join(lines) + "\n"


def hpc_inventory_text(topology: Any, cluster: str, keys: KeyStore, fmt: str) -> tuple[str, int]:
    """The inventory as ``fmt`` (yaml or ini) and how many running hosts it has."""
    if fmt not in ("yaml", "ini"):
        raise UsageError(f"--format {fmt!r}: choose yaml or ini")
    private_key, _ = keys.platform_key()
    found = hpc_inventory(topology, cluster, private_key, keys.known_hosts)
    hosts = sum(len(h) for g, h in found["groups"].items() if g != "slurm_gpu")
    return (render_yaml(found) if fmt == "yaml" else render_ini(found)), hosts
