"""The topology read model, folded from the log one event at a time.

Pure: it knows the events' names and payloads, nothing about storage. The same fold builds
the persistent views (incrementally), rebuilds them (``audit replay``), answers
``audit at`` (a fresh model up to a position) and checks the invariants (``audit verify``).
Its size grows with the number of clusters, VMs and GPUs, never with the length of history.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ai_how.app.ports import LoggedEvent
from ai_how.domain.specs import VmRecord

from .snapshot_rows import SNAPSHOT_HANDLERS


@dataclass
class Topology:
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    vms: dict[str, dict[str, Any]] = field(default_factory=dict)
    gpus: dict[str, dict[str, Any]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)  # aggregate id -> [kind, natural key]
    images: dict[str, dict[str, Any]] = field(default_factory=dict)  # "name@digest" -> the built image
    position: int = 0
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # "namespace/name" -> inference service
    changed: set[tuple[str, str]] = field(default_factory=set, repr=False)  # (table, key) since last save
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)  # "cluster/name" -> a snapshot of its disks

    TABLES = ("clusters", "vms", "gpus", "names", "images", "services", "snapshots")

    def table(self, name: str) -> dict[str, Any]:
        return getattr(self, name)

    def vm(self, name: str) -> VmRecord | None:
        """The VM as recorded, its spec decoded."""
        row = self.vms.get(name)
        return VmRecord.of_row(row) if row is not None else None

    def vms_of(self, cluster: str) -> list[VmRecord]:
        """The cluster's VMs as recorded, in its order (none for a cluster not recorded)."""
        names = (self.clusters.get(cluster) or {}).get("vms", [])
        return [VmRecord.of_row(self.vms[name]) for name in names if name in self.vms]

    def copy(self) -> Topology:
        return Topology(copy.deepcopy(self.clusters), copy.deepcopy(self.vms), copy.deepcopy(self.gpus),
                        dict(self.names), copy.deepcopy(self.images), self.position,
                        services=copy.deepcopy(self.services), snapshots=copy.deepcopy(self.snapshots))

    def subject(self, event: LoggedEvent) -> tuple[str, str]:
        """(kind, natural key) of the event's aggregate: ('gpu', '0000:01:00.0'), ('vm', ...)."""
        kind, key = self.names.get(str(event.aggregate_id), [event.aggregate_type.lower(), str(event.aggregate_id)])
        return kind, key

    def _touch(self, table: str, key: str) -> dict[str, Any]:
        self.changed.add((table, key))
        return self.table(table)[key]

    def apply(self, event: LoggedEvent) -> None:
        handler = _HANDLERS.get(event.event_type) or SNAPSHOT_HANDLERS.get(event.event_type)
        if handler is not None:
            handler(self, event, event.payload)
        self.position = event.position


def _stamp(row: dict[str, Any], event: LoggedEvent) -> None:
    row["since"] = event.timestamp.isoformat()
    row["since_position"] = event.position


def _register(t: Topology, e: LoggedEvent, kind: str, key: str) -> None:
    """The aggregate's natural key, for the events that will name it only by id."""
    t.names[str(e.aggregate_id)] = [kind, key]
    t.changed.add(("names", str(e.aggregate_id)))


def _cluster_provisioned(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    name = p.get("name") or t.subject(e)[1]
    _register(t, e, "cluster", name)
    t.clusters[name] = {"name": name, "kind": p.get("kind") or t.clusters.get(name, {}).get("kind"),
                        "status": "provisioned", "config_digest": p["config_digest"], "network": p["network"],
                        "vms": p["vms"]}
    _stamp(_touch_cluster(t, name), e)


def _touch_cluster(t: Topology, name: str) -> dict[str, Any]:
    return t._touch("clusters", name)


def _cluster_reconfigured(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    name = t.subject(e)[1]
    if name in t.clusters:
        _touch_cluster(t, name).update(config_digest=p["config_digest"], vms=p["vms"])
        _stamp(_touch_cluster(t, name), e)


def _cluster_status(status: str):
    def apply(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
        row = _touch_cluster(t, t.subject(e)[1])
        row["status"] = status
        _stamp(row, e)
    return apply


def _deploy_started(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    row = _touch_cluster(t, t.subject(e)[1])
    row["last_check" if p["check"] else "deployment"] = {
        "run_id": p["run_id"], "status": "deploying", "started_at": e.timestamp.isoformat(),
        "playbook": p["playbook"], "playbook_digest": p["playbook_digest"], "config_digest": p["config_digest"],
        "limit": p["limit"]}


def _deploy_ended(status: str):
    def apply(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
        row = _touch_cluster(t, t.subject(e)[1])
        record = row.get("last_check" if p["check"] else "deployment")
        if record is None or record["run_id"] != p["run_id"]:
            return
        record.update(status=status, ended_at=e.timestamp.isoformat(), seconds=p["seconds"], hosts=p["hosts"])
        if status == "failed":
            record.update(host=p["host"], task=p["task"], message=p["message"])
    return apply


def _kubernetes_deployed(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    _deploy_ended("deployed")(t, e, p)
    row = _touch_cluster(t, t.subject(e)[1])
    row["kubernetes"] = {"version": p["kube_version"], "nodes": list(p["nodes"]), "kubeconfig": p["kubeconfig"],
                         "drained": []}


def _kubernetes_nodes(change: str):
    def apply(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
        row = _touch_cluster(t, t.subject(e)[1])
        kubernetes = row.get("kubernetes")
        if kubernetes is None:
            return
        key = "nodes" if change == "joined" else "drained"
        names = set(kubernetes.get(key, []))
        names = names - {p["node"]} if change == "resumed" else names | {p["node"]}
        kubernetes[key] = sorted(names)
        _stamp(row, e)
    return apply


def _vm_defined(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    name = p.get("name") or t.subject(e)[1]
    _register(t, e, "vm", name)
    t.vms[name] = {"name": name, "cluster": p["cluster"], "role": p["role"], "spec": p["spec"], "state": "defined",
                   "pending_intent": None, "last_error": None, "state_before_start": "defined"}
    _stamp(t._touch("vms", name), e)


def _vm(t: Topology, e: LoggedEvent) -> dict[str, Any]:
    row = t._touch("vms", t.subject(e)[1])
    _stamp(row, e)
    return row


def _vm_start_requested(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    row = _vm(t, e)
    row["state_before_start"] = row["state"]
    row.update(state="starting", pending_intent="start")


def _vm_started(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    _vm(t, e).update(state="running", pending_intent=None, last_error=None, guest_ready=False)


def _guest_ready(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    _vm(t, e).update(guest_ready=True, start_profile=p["profile"], ready_seconds=p["seconds"])


def _vm_start_failed(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    row = _vm(t, e)
    row.update(state=row["state_before_start"], pending_intent=None, last_error=p["error"])


def _vm_stop_requested(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    _vm(t, e).update(state="stopping", pending_intent="stop")


def _vm_stopped(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    _vm(t, e).update(state="stopped", pending_intent=None, stop_reason=p.get("reason"), guest_ready=False)


def _vm_destroyed(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    _vm(t, e).update(state="destroyed", pending_intent=None)


def _pins(held: bool) -> Callable[[Topology, LoggedEvent, dict[str, Any]], None]:
    """The host CPUs a pinned VM holds (``HostCpus`` names the VM in each event)."""
    def apply(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
        if p["vm"] in t.vms:
            row = t._touch("vms", p["vm"])
            row["pins"] = p["pins"] if held else None
            _stamp(row, e)
    return apply


def _gpu_registered(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    address = p["pci_address"]
    _register(t, e, "gpu", address)
    t.gpus[address] = {"pci_address": address, "functions": p["functions"], "holder": None}
    _stamp(t._touch("gpus", address), e)


def _gpu(t: Topology, e: LoggedEvent) -> dict[str, Any]:
    row = t._touch("gpus", t.subject(e)[1])
    _stamp(row, e)
    return row


def _gpu_leased(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    _gpu(t, e)["holder"] = p["vm"]


def _gpu_released(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    _gpu(t, e)["holder"] = None


def _move_started(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    if "pci_address" in p:
        _register(t, e, "move", p["pci_address"])
    address = t.subject(e)[1]
    if address not in t.gpus:
        return
    row = t._touch("gpus", address)
    row["move"] = {"from": p["holder"], "to": p["target"], "state": "in_progress", "steps": [], "reason": None,
                   "owner": p["owner"], "since": e.timestamp.isoformat()}


def _move_changed(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    address = t.subject(e)[1]
    move = t.gpus.get(address, {}).get("move")
    if move is None:
        return
    t._touch("gpus", address)
    if e.event_type == "GpuMoveStepDone":
        move["steps"] = [*move["steps"], p["step"]]
    elif e.event_type == "GpuMoveResumed":
        move["owner"] = p["owner"]
    elif e.event_type == "GpuMoved":  # done: the row shows moves that are not
        del t.gpus[address]["move"]
    elif e.event_type == "GpuMoveFailed":
        move.update(state="failed", reason=p["reason"])


def _image_built(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    key = f"{p['name']}@{p['recipe_digest']}"
    _register(t, e, "image", key)
    t.images[key] = {k: p[k] for k in ("name", "recipe_digest", "path", "sha256", "size", "suite", "builder")}
    t.images[key]["built_at"] = e.timestamp.isoformat()
    _stamp(t._touch("images", key), e)


def _image_rebuilt(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    row = t._touch("images", t.subject(e)[1])
    row.update(path=p["path"], sha256=p["sha256"], size=p["size"], built_at=e.timestamp.isoformat())
    _stamp(row, e)


def _service_deployed(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
    if "namespace" in p:
        key = f"{p['namespace']}/{p['name']}"
        _register(t, e, "service", key)
    else:
        key = t.subject(e)[1]
    namespace, name = key.split("/", 1)
    t.services[key] = {"namespace": namespace, "name": name, "cluster": p["cluster"], "spec": p["spec"],
                       "manifest_digest": p["manifest_digest"], "state": "deployed", "url": None, "reason": None, "nodes": [],
                       "deployed_at": e.timestamp.isoformat()}
    _stamp(t._touch("services", key), e)


def _service_state(state: str):
    def apply(t: Topology, e: LoggedEvent, p: dict[str, Any]) -> None:
        key = t.subject(e)[1]
        if key not in t.services:
            return
        row = t._touch("services", key)
        row.update(state=state, url=p.get("url") if state == "ready" else None,
                   reason=p.get("reason") if state == "failed" else None,
                   nodes=p.get("nodes", []) if state == "ready" else [])
        _stamp(row, e)
    return apply


_HANDLERS = {
    "ClusterProvisioned": _cluster_provisioned,
    "ClusterReprovisioned": _cluster_provisioned,
    "ClusterReconfigured": _cluster_reconfigured,
    "ClusterStarted": _cluster_status("running"),
    "ClusterStopped": _cluster_status("stopped"),
    "ClusterDestroyed": _cluster_status("destroyed"),
    "ClusterDeployStarted": _deploy_started,
    "ClusterDeployed": _deploy_ended("deployed"),
    "ClusterDeployFailed": _deploy_ended("failed"),
    "KubernetesDeployStarted": _deploy_started,
    "KubernetesDeployed": _kubernetes_deployed,
    "KubernetesDeployFailed": _deploy_ended("failed"),
    "NodeJoined": _kubernetes_nodes("joined"),
    "NodeDrained": _kubernetes_nodes("drained"),
    "NodeResumed": _kubernetes_nodes("resumed"),
    "VmDefined": _vm_defined,
    "VmRedefined": _vm_defined,
    "VmStartRequested": _vm_start_requested,
    "VmStarted": _vm_started,
    "VmStartFailed": _vm_start_failed,
    "VmStopRequested": _vm_stop_requested,
    "VmStopped": _vm_stopped,
    "VmDestroyed": _vm_destroyed,
    "VcpusPinned": _pins(True),
    "VcpusUnpinned": _pins(False),
    "GpuRegistered": _gpu_registered,
    "GpuLeased": _gpu_leased,
    "GpuReleased": _gpu_released,
    "GuestReady": _guest_ready,
    "ImageBuilt": _image_built,
    "ModelRegistered": lambda t, e, p: _register(t, e, "model", p["name"]),
    "InferenceServiceDeployed": _service_deployed,
    "InferenceServiceRedeployed": _service_deployed,
    "InferenceServiceReady": _service_state("ready"),
    "InferenceServiceFailed": _service_state("failed"),
    "InferenceServiceDeleted": _service_state("deleted"),
    "ImageRebuilt": _image_rebuilt,
    "GpuMoveStarted": _move_started,
    "GpuMoveRestarted": _move_started,
    "GpuMoveStepDone": _move_changed,
    "GpuMoveResumed": _move_changed,
    "GpuMoved": _move_changed,
    "GpuMoveFailed": _move_changed,
}
