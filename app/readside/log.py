"""The audit log as the CLI asks for it: each event named after its aggregate, filtered by
time, cluster, VM, GPU and type. The one query that reads the log itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from ai_how.app.errors import UsageError
from ai_how.app.ports import EventStore, LoggedEvent
from ai_how.domain.pci import normalize_pci_address, slot_address

from .projection import Topology

_RELATIVE = re.compile(r"^(\d+)([smhd])$")


def parse_moment(text: str, option: str) -> datetime:
    """ISO 8601 (local time unless it says otherwise) or a duration ago: 30m, 2h, 7d."""
    match = _RELATIVE.match(text.strip())
    try:
        if match:
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
            return datetime.now(timezone.utc) - timedelta(**{unit: int(match.group(1))})
        moment = datetime.fromisoformat(text.strip())
        return moment.astimezone(timezone.utc) if moment.tzinfo is None else moment
    except (OverflowError, OSError):
        raise UsageError(f"{option} {text!r} is beyond the dates a log can hold: give a time since 1970") from None
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a time: give ISO 8601 like 2026-11-22T14:00 or an age "
                         "like 30m, 2h, 7d") from None


@dataclass(frozen=True)
class AuditEntry:
    event: LoggedEvent
    subject: str  # "gpu 0000:01:00.0", "vm hpc-cluster-compute-01", "cluster hpc-cluster"
    cluster: str | None  # the cluster it concerns, when there is one

    def as_dict(self) -> dict[str, Any]:
        e = self.event
        return {"position": e.position, "time": e.timestamp.isoformat(), "aggregate": self.subject,
                "aggregate_type": e.aggregate_type, "aggregate_id": str(e.aggregate_id),
                "version": e.version, "type": e.event_type, "payload": e.payload}


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    cluster: str | None = None
    vm: str | None = None
    gpu: str | None = None
    types: tuple[str, ...] = ()
    limit: int | None = None

    @classmethod
    def of(cls, since: str | None = None, until: str | None = None, cluster: str | None = None,
           vm: str | None = None, gpu: str | None = None, types: tuple[str, ...] = (),
           limit: int | None = None) -> AuditFilter:
        """A filter from what a user typed (times as ISO 8601 or ages, a GPU as a PCI address)."""
        try:
            pci = normalize_pci_address(gpu) if gpu is not None else None
        except ValueError as exc:
            raise UsageError(f"--gpu: {exc}") from None
        return cls(parse_moment(since, "--since") if since else None,
                   parse_moment(until, "--until") if until else None, cluster, vm, pci, types, limit)

    def keeps(self, entry: AuditEntry) -> bool:
        e = entry.event
        if (self.since and e.timestamp < self.since) or (self.until and e.timestamp > self.until):
            return False
        if self.cluster and entry.cluster != self.cluster:
            return False
        if self.vm and entry.subject != f"vm {self.vm}" and e.payload.get("vm") != self.vm:
            return False
        return not self.gpu or entry.subject == f"gpu {slot_address(self.gpu)}"


def audit_entries(store: EventStore, topology: Topology, wanted: AuditFilter = AuditFilter()) -> Iterator[AuditEntry]:
    """The log in order, each event named after its aggregate; the names come from the views,
    completed from the log itself where the views are behind."""
    names: dict[UUID, tuple[str, str]] = {}
    clusters_of_vms = {name: vm["cluster"] for name, vm in topology.vms.items()}
    count = 0
    for event in store.iter_log(event_types=wanted.types):
        if event.aggregate_id not in names:
            known = topology.names.get(str(event.aggregate_id))
            key = event.payload.get("pci_address") or event.payload.get("name")
            names[event.aggregate_id] = ((str(known[0]), str(known[1])) if known
                                         else (event.aggregate_type.lower(), str(key or event.aggregate_id)))
        kind, key = names[event.aggregate_id]
        if kind == "vm" and "cluster" in event.payload:
            clusters_of_vms[key] = event.payload["cluster"]
        cluster = {"cluster": key, "vm": clusters_of_vms.get(key)}.get(kind)
        if kind == "gpu" and "vm" in event.payload:
            cluster = clusters_of_vms.get(event.payload["vm"])
        entry = AuditEntry(event, f"{kind} {key}", cluster)
        if wanted.keeps(entry):
            yield entry
            count += 1
            if wanted.limit is not None and count >= wanted.limit:
                return
