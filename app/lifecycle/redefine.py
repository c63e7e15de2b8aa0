"""A changed config on a provisioned cluster: what differs between the VMs as the log records
them and as the config gives them, and ``start --redefine``, which applies it to the VMs that
are shut off (their domains defined again, a disk grown in place), defines the VMs it adds,
and leaves running ones be.

The image a VM's disk was made from stays its own: a rebuilt image of the same name is no
change, and a VM's recorded image file and digest are kept when it is redefined.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any

from ai_how.app.ports import EventStore, Hypervisor
from ai_how.domain.cluster import ClusterStatus
from ai_how.domain.commands import RedefineCluster
from ai_how.domain.errors import IdentityMismatch, RedefineRefused
from ai_how.domain.gpu import Gpu
from ai_how.domain.ids import cluster_id, gpu_id, vm_id
from ai_how.domain.snapshot_commands import TakeSnapshot
from ai_how.domain.specs import SHARED_TAG, ClusterPlan, VmPlan, VmSpec
from ai_how.domain.vm import Vm, VmState

# What a shut-off VM's domain can take without a new disk, address or seed.
REDEFINABLE = ("cpu_cores", "memory_gb", "disk_gb", "auto_start", "gpus", "devices", "shared_directories",
               "acceleration", "hugepages_kib", "cpu_pinning", "numa_cells")
LIVE = ("running", "starting", "stopping")


def _shown(key: str, value: Any) -> str:
    if key == "devices":
        return ",".join(d["pci_address"] for d in value or []) or "none"
    if value in (None, [], ()):
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _storage_backend(shared: Any) -> str | None:
    """The backend of the cluster's shared storage among a VM's recorded shared folders."""
    for folder in shared or []:
        if folder.get("tag") == SHARED_TAG:
            return str(folder.get("backend", "virtiofs"))
    return None


@dataclass(frozen=True)
class VmChange:
    vm: str
    state: str
    fields: tuple[tuple[str, Any, Any], ...]  # (field, as recorded, as configured)

    @property
    def running(self) -> bool:
        return self.state in LIVE

    @property
    def summary(self) -> str:
        return ", ".join(f"{key} {_shown(key, old)} → {_shown(key, new)}" for key, old, new in self.fields)

    @property
    def blocked(self) -> str | None:
        """Why this change cannot be made in place, if it cannot."""
        fixed = [key for key, _, _ in self.fields if key not in REDEFINABLE]
        if fixed:
            return (f"{', '.join(fixed)} cannot change in place (a new disk, address or seed): destroy the cluster "
                    "and start it again, or put the config back")
        shared = next(((old, new) for key, old, new in self.fields if key == "shared_directories"), None)
        before, after = (_storage_backend(folders) for folders in shared) if shared is not None else (None, None)
        if before != after and (before is not None or after == "nfs"):
            return ("the shared storage's backend is set up by a VM's first boot (its seed), not in place: copy its "
                    "data off, destroy the cluster and start it again, or put the config back")
        disk = next(((old, new) for key, old, new in self.fields if key == "disk_gb"), None)
        if disk is not None and disk[1] < disk[0]:
            return f"a disk is never shrunk; give disk_gb: {disk[0]:g} or more"
        return None


@dataclass
class ClusterChanges:
    cluster: str
    recorded_digest: str
    config_digest: str
    vms: list[VmChange] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # VMs the config adds: defined by the redefinition
    refused: list[str] = field(default_factory=list)  # what no redefinition applies

    @property
    def changed(self) -> bool:
        return self.recorded_digest != self.config_digest

    @property
    def problems(self) -> list[str]:
        return self.refused + [f"{c.vm}: {c.summary}: {c.blocked}" for c in self.vms if c.blocked]


def kept_image(recorded: VmSpec, configured: VmSpec) -> VmSpec:
    """The configured spec, on the image file the VM's disk was made from when it names the same image."""
    if configured.base_image is not None and configured.base_image == recorded.base_image:
        return dataclasses.replace(configured, base_image_path=recorded.base_image_path,
                                   base_image_sha256=recorded.base_image_sha256)
    return configured


def _fields(recorded: VmSpec, configured: VmSpec) -> tuple[tuple[str, Any, Any], ...]:
    old, new = recorded.to_dict(), kept_image(recorded, configured).to_dict()
    return tuple((key, old.get(key), new.get(key)) for key in sorted(set(old) | set(new))
                 if old.get(key) != new.get(key))


def cluster_changes(plan: ClusterPlan, store: EventStore) -> ClusterChanges | None:
    """None when the cluster is not recorded (a start provisions it)."""
    cluster = store.read(cluster_id(plan.name))
    if cluster is None or cluster.status == ClusterStatus.DESTROYED:
        return None
    found = ClusterChanges(plan.name, cluster.config_digest, plan.config_digest)
    if cluster.config_digest == plan.config_digest:
        return found
    for key in sorted(set(cluster.network) | set(plan.network)):
        if cluster.network.get(key) != plan.network.get(key):
            found.refused.append(f"network {key} {cluster.network.get(key)} → {plan.network.get(key)}: a network "
                                 "changes only with the cluster (destroy it and start it again)")
    configured = {vm.name for vm in plan.vms}
    found.added = [vm.name for vm in plan.vms if vm.name not in cluster.vms]
    for name in sorted(set(cluster.vms) - configured):
        found.refused.append(f"{name} is no longer in the config: VMs are removed with the cluster")
    for vm_plan in plan.vms:
        vm = store.read(vm_id(vm_plan.name))
        if vm is None or vm_plan.name not in cluster.vms:
            continue
        fields = _fields(vm.spec, vm_plan.spec)
        if fields:
            found.vms.append(VmChange(vm.name, str(vm.state), fields))
    return found


@dataclass
class RedefineResult:
    redefined: dict[str, list[str]] = field(default_factory=dict)  # VM -> what changed
    untouched: list[str] = field(default_factory=list)  # running: they keep their spec for now
    added: list[str] = field(default_factory=list)
    snapshot: str | None = None  # taken before (global.snapshots.before: [redefine])


def redefine_cluster(command: RedefineCluster, store: EventStore, hypervisor: Hypervisor, bus: Any) -> RedefineResult:
    """All of it is checked before anything changes; each VM's domain is defined again before
    its log says so, so a crash between the two is mended by running it again."""
    plan = command.plan
    result = RedefineResult()
    found = cluster_changes(plan, store)
    if found is None or not found.changed:
        return result
    if found.problems:
        error = RedefineRefused(f"cluster {plan.name} cannot take this config in place: " + "; ".join(found.problems))
        error.hint = f"see it all with 'ai-how plan CONFIG'; 'ai-how {plan.kind} destroy CONFIG' then start applies it"
        raise error
    if command.snapshot_keep is not None and (found.added or any(not c.running for c in found.vms)):
        result.snapshot = bus.handle(TakeSnapshot(plan.name, f"before-redefine-{time.strftime('%Y%m%d-%H%M%S')}",
                                                  reason="before redefine", keep=command.snapshot_keep)).name
    new_cards = [Gpu.register(spec) for spec in plan.gpus if store.get(gpu_id(spec.pci_address)) is None]
    added = [_define(store, plan, name) for name in found.added]
    if new_cards or added:
        store.save(*new_cards, *added)
    result.added = list(found.added)
    for change in found.vms:
        if change.running:
            result.untouched.append(change.vm)
            continue
        vm = store.get(vm_id(change.vm))
        configured = plan.vm(change.vm)
        spec = kept_image(vm.spec, configured.spec)
        result.redefined[change.vm] = [change.summary] + hypervisor.redefine_vm(
            VmPlan(configured.name, configured.cluster, configured.role, spec))
        vm.respecify(spec)
        store.save(vm)
    cluster = store.get(cluster_id(plan.name))
    cluster.reconfigure(found.recorded_digest if result.untouched else plan.config_digest,
                        [vm.name for vm in plan.vms])
    store.save(cluster)
    return result


def _define(store: EventStore, plan: ClusterPlan, name: str) -> Vm:
    """A VM the config adds; the start that follows defines its domain, disk and seed."""
    vm_plan = plan.vm(name)
    vm = store.get(vm_id(name))
    if vm is None:
        return Vm.define(vm_plan.name, vm_plan.cluster, vm_plan.role, vm_plan.spec)
    if vm.state != VmState.DESTROYED:
        raise IdentityMismatch(f"VM {name} already belongs to cluster {vm.cluster}; rename cluster {plan.name} in "
                               "the config")
    vm.redefine(vm_plan.cluster, vm_plan.role, vm_plan.spec)
    return vm


COMMAND_HANDLERS: dict[type, Any] = {RedefineCluster: redefine_cluster}
