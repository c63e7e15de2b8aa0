"""The Cloud cluster as Kubespray reads it: ``hosts.yaml`` and ``group_vars`` from the config.

``kubernetes_settings`` turns the config into plain data (recorded with the deploy, so a node
that joins later gets what the cluster was deployed with); ``kubespray_inventory`` turns that
and a set of hosts into the files of an inventory directory (``-i DIR``). Groups follow
Kubespray's conventions: ``kube_control_plane``, ``etcd`` (the control plane),
``kube_node`` and ``k8s_cluster`` with both as children. Each host has ``ansible_host``,
``ip`` and ``access_ip``, and its ``node_labels``/``node_taints``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

WORKER_ROLES = ("cpu-worker", "gpu-worker")
VERSION_KEYS = {"calico": "calico_version", "cilium": "cilium_version", "flannel": "flannel_version",
                "kube-ovn": "kube_ovn_version", "kube-router": "kube_router_version"}
RUNTIME_VERSION_KEYS = {"containerd": "containerd_version", "crio": "crio_version", "docker": "docker_version"}


def _taint(taint: dict[str, Any]) -> str:
    """``{key, value, effect}`` as Kubespray's node_taints writes it: ``key=value:Effect``."""
    key, value, effect = taint.get("key"), taint.get("value"), taint.get("effect", "NoSchedule")
    return f"{key}={value}:{effect}" if value not in (None, "") else f"{key}:{effect}"


def kubernetes_settings(section: Any, planned_vms: Any) -> dict[str, Any]:
    """What a deploy of this Cloud cluster needs from its config, as JSON-able data."""
    k8s = section.kubernetes_config
    net = k8s.networking
    cluster_vars: dict[str, Any] = {
        "container_manager": k8s.runtime,
        "kube_network_plugin": net.cni,
        "kube_pods_subnet": str(net.pod_cidr),
        "kube_service_addresses": str(net.service_cidr),
        "cluster_name": net.dns_domain,
        "dns_domain": net.dns_domain,
        "ingress_nginx_enabled": k8s.ingress.enabled,
        "metrics_server_enabled": k8s.metrics_server,
        "helm_enabled": k8s.helm,
        "local_path_provisioner_enabled": k8s.storage.default_class == "local-path" or any(
            c.provisioner == "rancher.io/local-path" for c in k8s.storage.classes),
    }
    if net.cni_version and net.cni in VERSION_KEYS:
        cluster_vars[VERSION_KEYS[net.cni]] = net.cni_version.removeprefix("v")
    if k8s.runtime_version:
        cluster_vars[RUNTIME_VERSION_KEYS[k8s.runtime]] = k8s.runtime_version
    nodes: dict[str, dict[str, Any]] = {}
    for vm in planned_vms:
        labels = {"ai-how/role": vm.plan.role, **vm.config.node_labels}
        if vm.plan.spec.gpus:
            labels.setdefault("nvidia.com/gpu.present", "true")
        nodes[vm.name] = {"role": vm.plan.role, "labels": labels,
                          "taints": [_taint(t) for t in vm.config.node_taints]}
    return {"version": k8s.version_number, "cluster_vars": cluster_vars, "nodes": nodes,
            "auto_join": k8s.auto_join, "drain_timeout_s": k8s.drain_timeout_s}


def kubespray_inventory(cluster: str, hosts: list[dict[str, Any]], settings: dict[str, Any], kube_version: str | None,
                        access: dict[str, Any]) -> dict[str, Any]:
    """The files of an inventory directory, by relative path: ``hosts.yaml`` and
    ``group_vars/{all,k8s_cluster}/ai-how.yml``. ``hosts``: ``name``, ``role``, ``ip``."""
    control = [h for h in hosts if h["role"] == "control-plane"]
    workers = [h for h in hosts if h["role"] in WORKER_ROLES]
    node_group = workers or control  # a cluster of one control plane schedules on it
    all_hosts: dict[str, dict[str, Any]] = {}
    for host in hosts:
        node = settings["nodes"].get(host["name"], {})
        entry: dict[str, Any] = {"ansible_host": host["ip"], "ip": host["ip"], "access_ip": host["ip"]}
        if node.get("labels"):
            entry["node_labels"] = dict(node["labels"])
        if node.get("taints"):
            entry["node_taints"] = list(node["taints"])
        all_hosts[host["name"]] = entry
    children = {
        "kube_control_plane": {"hosts": {h["name"]: None for h in control}},
        "etcd": {"hosts": {h["name"]: None for h in control}},
        "kube_node": {"hosts": {h["name"]: None for h in node_group}},
        "k8s_cluster": {"children": {"kube_control_plane": None, "kube_node": None}},
    }
    cluster_vars = dict(settings["cluster_vars"])
    if kube_version:
        cluster_vars["kube_version"] = kube_version
    return {
        "hosts.yaml": {"all": {"hosts": all_hosts, "children": children}},
        "group_vars/all/ai-how.yml": {**access, "ai_how_cluster": cluster},
        "group_vars/k8s_cluster/ai-how.yml": cluster_vars,
    }


def ssh_access(login: str, private_key: Path, known_hosts: Path) -> dict[str, Any]:
    """How Ansible reaches the guests: the platform key, the pinned host keys, sudo."""
    options = ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"]
    return {"ansible_user": login, "ansible_become": True, "ansible_ssh_private_key_file": str(private_key),
            "ansible_ssh_common_args": shlex.join(options), "ansible_python_interpreter": "/usr/bin/python3"}


def write_inventory(files: dict[str, Any], directory: Path) -> list[Path]:
    import yaml

    written = []
    for relative, content in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("# Written by ai-how from the cluster config; regenerate, do not edit.\n"
                          + yaml.safe_dump(content, sort_keys=False, default_flow_style=False))
        written.append(target)
    return written


def cloud_inventory(planned: Any, checkout: Any, keys: Any) -> tuple[dict[str, Any], list[str], list[str]]:
    """Kubespray's inventory of every VM of the planned Cloud cluster that has an IP: its files,
    the hosts in it and those left out. ``checkout``: the Kubespray that resolves the version
    (None: the version as written)."""
    settings = kubernetes_settings(planned.section, planned.vms)
    version = checkout.resolve(settings["version"]) if checkout is not None else settings["version"]
    private_key, _ = keys.platform_key()
    logins = sorted({vm.plan.spec.login for vm in planned.vms})
    hosts = [{"name": vm.name, "role": vm.plan.role, "ip": vm.plan.spec.ip} for vm in planned.vms if vm.plan.spec.ip]
    files = kubespray_inventory(planned.name, hosts, settings, version,
                                ssh_access(logins[0], private_key, keys.known_hosts))
    return files, [h["name"] for h in hosts], [vm.name for vm in planned.vms if not vm.plan.spec.ip]
