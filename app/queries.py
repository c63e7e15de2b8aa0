"""Read-only questions to the store, answered for the CLI.

Until the projections land these read the log directly; their signatures are what the
views will answer later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ai_how.domain.gpu_models import model_name
from ai_how.domain.ids import cluster_id, gpu_id, vm_id

from .ports import EventStore, LoggedEvent


@dataclass(frozen=True)
class GpuRow:
    pci_address: str
    model: str
    functions: list[str]
    holder: str | None
    holder_state: str | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def gpu_rows(store: EventStore) -> list[GpuRow]:
    rows = []
    for registered in store.iter_log(event_types=["GpuRegistered"]):
        gpu = store.get(registered.aggregate_id)
        ids = gpu.ids
        holder = store.get(vm_id(gpu.holder)) if gpu.holder else None
        rows.append(GpuRow(gpu.pci_address, model_name(*ids) if ids else "unknown device",
                           gpu.function_addresses, gpu.holder, str(holder.state) if holder else None))
    return sorted(rows, key=lambda r: r.pci_address)


@dataclass(frozen=True)
class AuditEntry:
    event: LoggedEvent
    subject: str  # "gpu 0000:01:00.0", "vm hpc-cluster-compute-01", "cluster hpc-cluster"

    def as_dict(self) -> dict[str, Any]:
        e = self.event
        return {"position": e.position, "time": e.timestamp.isoformat(), "aggregate": self.subject,
                "aggregate_type": e.aggregate_type, "aggregate_id": str(e.aggregate_id),
                "version": e.version, "type": e.event_type, "payload": e.payload}


def audit_entries(store: EventStore) -> Iterator[AuditEntry]:
    names: dict[UUID, str] = {}
    for event in store.iter_log():
        if event.aggregate_id not in names:
            key = event.payload.get("pci_address") or event.payload.get("name") or str(event.aggregate_id)
            names[event.aggregate_id] = f"{event.aggregate_type.lower()} {key}"
        yield AuditEntry(event, names[event.aggregate_id])


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

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class ClusterView:
    name: str
    kind: str
    status: str  # as recorded: provisioned, running, stopped, destroyed
    overall: str  # what its VMs add up to now
    network: dict[str, str]
    vms: list[VmRow]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "status": self.status, "overall": self.overall,
                "network": self.network, "vms": [vm.as_dict() for vm in self.vms]}


def vm_row(store: EventStore, hypervisor: Any, name: str) -> VmRow | None:
    vm = store.get(vm_id(name))
    if vm is None:
        return None
    spec = vm.spec
    held = [a for a in spec.gpus if (g := store.get(gpu_id(a))) is not None and g.holder == name]
    domain_state = "absent" if str(vm.state) == "destroyed" else str(hypervisor.domain_state(name))
    return VmRow(name, vm.cluster, vm.role, spec.ip, spec.cpu_cores, spec.memory_gb, spec.disk_gb, spec.auto_start,
                 str(vm.state), domain_state, held, list(spec.gpus), vm.pending_intent, vm.last_error)


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


def cluster_view(store: EventStore, hypervisor: Any, name: str) -> ClusterView | None:
    cluster = store.get(cluster_id(name))
    if cluster is None:
        return None
    rows = [r for vm in cluster.vms if (r := vm_row(store, hypervisor, vm)) is not None]
    return ClusterView(cluster.name, str(cluster.kind), str(cluster.status), _overall(str(cluster.status), rows),
                       cluster.network, rows)


def cluster_names(store: EventStore, kind: str | None = None, include_destroyed: bool = False) -> list[str]:
    names = []
    for event in store.iter_log(event_types=["ClusterProvisioned"]):
        if kind is not None and event.payload["kind"] != kind:
            continue
        cluster = store.get(event.aggregate_id)
        if include_destroyed or str(cluster.status) != "destroyed":
            names.append(cluster.name)
    return names


@dataclass(frozen=True)
class SharedResourceRow:
    """One GPU: the VMs configured with it, per cluster, and who holds it now."""

    pci_address: str
    model: str
    configured: dict[str, list[str]]  # cluster -> VMs
    holder: str | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def shared_resources(store: EventStore, clusters: list[ClusterView]) -> list[SharedResourceRow]:
    users: dict[str, dict[str, list[str]]] = {}
    for view in clusters:
        for vm in view.vms:
            for address in vm.gpus_configured:
                users.setdefault(address, {}).setdefault(view.name, []).append(vm.name)
    return [SharedResourceRow(row.pci_address, row.model, users.get(row.pci_address, {}), row.holder)
            for row in gpu_rows(store) if row.pci_address in users]
