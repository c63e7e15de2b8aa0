"""``validate --json``: a config's plan and findings as one JSON document (stable keys)."""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .validation import Report


def _vm_rows(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "cluster": c.name, "kind": c.kind, "name": vm.name, "role": vm.plan.role, "ip": vm.plan.spec.ip,
            "cpu_cores": vm.plan.spec.cpu_cores, "memory_gb": vm.plan.spec.memory_gb,
            "disk_gb": vm.plan.spec.disk_gb, "auto_start": vm.plan.spec.auto_start,
            "gpus": list(vm.plan.spec.gpus),
            "pci_devices": [d.pci_address for d in vm.plan.spec.devices], "config_path": vm.path,
        }
        for c in report.clusters for vm in c.vms
    ]


def report_json(source: str, report: Report | None, error: ConfigError | None = None) -> dict[str, Any]:
    if error is not None:
        return {"source": source, "valid": False, "errors": [
            {"path": i.path, "message": i.message, "value": i.value} for i in error.issues],
            "warnings": [], "clusters": [], "vms": [], "shared_gpus": []}
    assert report is not None
    return {
        "source": source,
        "valid": report.valid,
        "errors": [{"path": f.path, "message": f.message} for f in report.errors],
        "warnings": [{"path": f.path, "message": f.message} for f in report.warnings],
        "clusters": [{"name": c.name, "kind": c.kind, "config_digest": c.plan.config_digest,
                      "network": c.plan.network, "vms": [v.name for v in c.vms]} for c in report.clusters],
        "vms": _vm_rows(report),
        "shared_gpus": [{"pci_address": s.pci_address, "model": s.model, "collides_at_start": s.collides_at_start,
                         "users": [{"cluster": u.cluster, "vm": u.vm, "auto_start": u.auto_start} for u in s.users],
                         "summary": s.summary()} for s in report.shared_gpus],
    }
