"""Answers for the CLI, read from the views (and, for the live column, from libvirt).

None of these reads the log, so their cost does not grow with the length of history; the
audit log is the one query that is the log itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_how.app import processes
from ai_how.app.errors import UsageError
from ai_how.domain.deployment import DeployRun, KubernetesState
from ai_how.domain.errors import InvalidTransition, UnknownObject
from ai_how.domain.gpu_models import model_name

from .projection import Topology


def gpu_model(functions: list[dict[str, Any]], address: str) -> str:
    primary = next((f for f in functions if f["pci_address"] == address), None)
    return model_name(primary["vendor_id"], primary["device_id"]) if primary else "unknown device"


@dataclass(frozen=True)
class GpuRow:
    pci_address: str
    model: str
    functions: list[str]
    holder: str | None
    holder_state: str | None
    move: dict[str, Any] | None = None  # the card's last move, unless it is done

    def as_dict(self) -> dict[str, Any]:
        row = self.__dict__.copy()
        if row["move"] is None:  # rows read as they did before moves existed
            del row["move"]
        return row


def gpu_rows(topology: Topology) -> list[GpuRow]:
    rows = []
    for address, gpu in sorted(topology.gpus.items()):
        holder = gpu["holder"]
        move = gpu.get("move")
        if move is not None and move["state"] != "failed":  # a move whose process is gone was interrupted
            move = {**move, "interrupted": not processes.alive(move["owner"])}
        rows.append(GpuRow(address, gpu_model(gpu["functions"], address), [f["pci_address"] for f in gpu["functions"]],
                           holder, topology.vms[holder]["state"] if holder in topology.vms else None, move))
    return rows


@dataclass(frozen=True)
class VmRow:
    name: str
    cluster: str
    role: str
    ip: str | None
    cpu_cores: int
    memory_gb: float
    disk_gb: int
    auto_start: bool
    state: str  # as recorded
    domain_state: str  # as libvirt sees it now
    gpus_held: list[str]
    gpus_configured: list[str]
    pending_intent: str | None
    last_error: str | None
    image: str | None = None  # the catalogue name or file the VM boots; None: a blank disk
    guest: str = "-"  # ready, booting, down, or '-' for a VM without an OS
    pins: dict[str, Any] | None = None  # a pinned VM's host CPUs while it runs (domain.cpus.Pins)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def guest_state(vm: dict[str, Any]) -> str:
    """What the VM's OS is doing, as far as the log knows: 'ready (profile)' once it answered SSH."""
    spec = vm["spec"]
    if not (spec.get("base_image_path") or spec.get("base_image")):
        return "-"
    if vm["state"] == "running":
        return f"ready ({vm.get('start_profile')})" if vm.get("guest_ready") else "booting"
    return "booting" if vm["state"] == "starting" else "down"


@dataclass(frozen=True)
class ClusterView:
    name: str
    kind: str
    status: str  # as recorded: provisioned, running, stopped, destroyed
    overall: str  # what its VMs add up to now
    network: dict[str, str]
    vms: list[VmRow]
    deployment: DeployRun | None = None  # the last deploy (not a --check run), as recorded
    kubernetes: KubernetesState | None = None  # a deployed Cloud cluster: version, nodes, kubeconfig path

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "status": self.status, "overall": self.overall,
                "network": self.network, "vms": [vm.as_dict() for vm in self.vms],
                "deployment": self.deployment.as_dict() if self.deployment else None,
                **({"kubernetes": self.kubernetes and self.kubernetes.as_dict()} if self.kind == "cloud" else {})}


def guest_of(topology: Topology, name: str) -> tuple[str, str]:
    """The login and address of a VM whose guest can be reached, or why it cannot."""
    vm = topology.vm(name)
    if vm is None:
        raise UnknownObject(f"VM {name} is not known; start its cluster first ('ai-how hpc|cloud start CONFIG')")
    spec = vm.spec
    if not vm.running:
        raise InvalidTransition(f"VM {name} is {vm.state}; start it with 'ai-how vm start {name}'")
    if not spec.has_os or not spec.ip:
        raise UsageError(f"VM {name} boots no image with a static IP, so there is no guest to reach; give it "
                         "base_image (ai-how image build) and an ip in the config")
    return spec.login, spec.ip


def shared_home_of(topology: Topology, name: str) -> str | None:
    """The VM's admin user's folder on its cluster's shared storage, if it mounts one."""
    vm = topology.vm(name)
    shared = next((d for d in vm.spec.shared_directories if d.cluster_storage), None) if vm else None
    return f"{shared.mount_point.rstrip('/')}/{vm.spec.login}" if vm and shared else None


def vm_row(topology: Topology, hypervisor: Any, name: str) -> VmRow | None:
    row, vm = topology.vms.get(name), topology.vm(name)
    if row is None or vm is None:
        return None
    spec = vm.spec
    held = [a for a in spec.gpus if topology.gpus.get(a, {}).get("holder") == name]
    domain_state = "absent" if vm.state == "destroyed" else str(hypervisor.domain_state(name))
    return VmRow(name, vm.cluster, vm.role, spec.ip, spec.cpu_cores, spec.memory_gb, spec.disk_gb, spec.auto_start,
                 vm.state, domain_state, held, list(spec.gpus), row["pending_intent"], row["last_error"],
                 spec.base_image or spec.base_image_path, guest_state(row), row.get("pins"))


def _overall(status: str, rows: list[VmRow]) -> str:
    if status == "destroyed":
        return "destroyed"
    running = [r for r in rows if r.state == "running"]
    wanted = [r for r in rows if r.auto_start]
    if not running:
        return "stopped" if status != "provisioned" else "provisioned"
    if all(r.state == "running" for r in wanted):
        manual = len([r for r in running if not r.auto_start])
        return "running" + (f" (+{manual} started by hand)" if manual else "")
    return f"partly running ({len([r for r in wanted if r.state == 'running'])} of {len(wanted)} auto-start VMs)"


def cluster_view(topology: Topology, hypervisor: Any, name: str) -> ClusterView | None:
    cluster = topology.clusters.get(name)
    if cluster is None:
        return None
    rows = [r for vm in cluster["vms"] if (r := vm_row(topology, hypervisor, vm)) is not None]
    return ClusterView(name, cluster["kind"], cluster["status"], _overall(cluster["status"], rows), cluster["network"],
                       rows, DeployRun.of(cluster.get("deployment")), kubernetes_of(topology, name))


def kubernetes_of(topology: Topology, name: str) -> KubernetesState | None:
    """The Kubernetes a Cloud cluster runs, as recorded."""
    return KubernetesState.of((topology.clusters.get(name) or {}).get("kubernetes"))


def cluster_names(topology: Topology, kind: str | None = None, include_destroyed: bool = False) -> list[str]:
    ordered = sorted(topology.clusters.values(), key=lambda c: c["since_position"])
    return [c["name"] for c in ordered if (kind is None or c["kind"] == kind)
            and (include_destroyed or c["status"] != "destroyed")]


@dataclass(frozen=True)
class SharedResourceRow:
    """One GPU: the VMs configured with it, per cluster, and who holds it now."""

    pci_address: str
    model: str
    configured: dict[str, list[str]]  # cluster -> VMs
    holder: str | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def shared_resources(topology: Topology, clusters: list[ClusterView]) -> list[SharedResourceRow]:
    users: dict[str, dict[str, list[str]]] = {}
    for view in clusters:
        for vm in view.vms:
            for address in vm.gpus_configured:
                users.setdefault(address, {}).setdefault(view.name, []).append(vm.name)
    return [SharedResourceRow(row.pci_address, row.model, users.get(row.pci_address, {}), row.holder)
            for row in gpu_rows(topology) if row.pci_address in users]


def service_rows(topology: Topology, cluster: str | None = None, include_deleted: bool = False) -> list[dict[str, Any]]:
    """The inference services as recorded, by namespace and name."""
    rows = [dict(r) for _, r in sorted(topology.services.items())
            if (cluster is None or r["cluster"] == cluster) and (include_deleted or r["state"] != "deleted")]
    for row in rows:  # where it runs: each node (a VM) and the GPUs that VM holds
        row["placement"] = [{"node": node, "gpus": sorted(a for a, g in topology.gpus.items() if g.get("holder") == node)}
                            for node in row.get("nodes") or []]
    return rows
