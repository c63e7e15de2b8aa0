"""The topology tree: clusters, networks, VMs and GPUs, from the views and optionally a config.

Nothing is invented: a cluster or VM the views do not know appears only when ``--config``
lists it, marked as configured but not provisioned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .projection import Topology
from .queries import gpu_model, guest_state, service_rows

if TYPE_CHECKING:
    from ai_how.app.config.plan import PlannedCluster


def _gpu_users(vms: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    users: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for vm in vms:
        for address in vm["spec"]["gpus"]:
            users[address].append((vm["cluster"], vm["name"]))
    return users


def _vm_entry(vm: dict[str, Any], topology: Topology, users: dict[str, list[tuple[str, str]]],
              provisioned: bool) -> dict[str, Any]:
    spec = vm["spec"]
    gpus = []
    for address in spec["gpus"]:
        recorded = topology.gpus.get(address)
        functions = recorded["functions"] if recorded else [
            {"pci_address": d["pci_address"], "vendor_id": d["vendor_id"], "device_id": d["device_id"]}
            for d in spec.get("devices", []) if d["pci_address"].rsplit(".", 1)[0] == address.rsplit(".", 1)[0]]
        holder = recorded["holder"] if recorded else None
        allocation = "free" if holder is None else ("leased to this VM" if holder == vm["name"] else f"leased to {holder}")
        others = [{"cluster": c, "vm": n} for c, n in users.get(address, []) if c != vm["cluster"]]
        gpus.append({"pci_address": address, "model": gpu_model(functions, address),
                     "functions": [f["pci_address"] for f in functions], "holder": holder,
                     "allocation": allocation, "conflicts": others})
        move = recorded.get("move") if recorded else None
        if move is not None:  # only then: trees read as they did before moves
            gpus[-1]["move"] = {k: move[k] for k in ("from", "to", "state", "steps", "reason")}
    row = {"name": vm["name"], "role": vm["role"], "ip": spec.get("ip"), "state": vm["state"],
           "cpu_cores": spec["cpu_cores"], "memory_gb": spec["memory_gb"], "auto_start": spec.get("auto_start", True),
           "provisioned": provisioned, "gpus": gpus}
    if provisioned and guest_state(vm) != "-":  # only VMs that boot an image have a guest
        row["guest"] = guest_state(vm)
    if vm.get("pins"):  # only then: trees of unpinned VMs read as they did
        row["pins"] = vm["pins"]
    return row


def topology_tree(topology: Topology, configured: Sequence[PlannedCluster] = ()) -> dict[str, Any]:
    live = {name: c for name, c in topology.clusters.items() if c["status"] != "destroyed"}
    vms = {name: vm for name, vm in topology.vms.items() if vm["state"] != "destroyed"}
    planned_vms = [{"name": v.name, "cluster": c.name, "role": v.plan.role, "spec": v.plan.spec.to_dict(),
                    "state": "not provisioned"} for c in configured for v in c.vms if v.name not in vms]
    users = _gpu_users(list(vms.values()) + planned_vms)
    clusters = []
    for name, cluster in sorted(live.items(), key=lambda kv: kv[1]["since_position"]):
        clusters.append({"name": name, "kind": cluster["kind"], "status": cluster["status"], "provisioned": True,
                         "network": cluster["network"],
                         "vms": [_vm_entry(vms[v], topology, users, True) for v in cluster["vms"] if v in vms]
                         + [_vm_entry(v, topology, users, False) for v in planned_vms if v["cluster"] == name]})
        served = service_rows(topology, name) if cluster["kind"] == "cloud" else []
        if served:  # only then: a tree without services reads as it always did
            clusters[-1]["services"] = [
                {"namespace": r["namespace"], "name": r["name"], "state": r["state"], "url": r["url"],
                 "format": r["spec"].get("format"), "gpus": r["spec"].get("gpus", 0), "placement": r["placement"]}
                for r in served]
    for planned in configured:
        if planned.name not in live:
            clusters.append({"name": planned.name, "kind": planned.kind, "status": "not provisioned",
                             "provisioned": False, "network": planned.plan.network,
                             "vms": [_vm_entry(v, topology, users, False) for v in planned_vms
                                     if v["cluster"] == planned.name]})
    return {"position": topology.position, "clusters": clusters}
