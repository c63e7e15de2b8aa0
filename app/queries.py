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
from ai_how.domain.ids import vm_id

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
