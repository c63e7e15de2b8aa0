"""``ai-how plan CONFIG``: what ``start`` (and ``--deploy``) would do, Terraform-style, and where
the config, the log and libvirt disagree. It reads; it changes nothing, not even the log."""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any

from ai_how.app.host.capacity import LIVE as RUNNING
from ai_how.app.host.capacity import CapacityExceeded
from ai_how.app.images.catalogue import newest
from ai_how.app.ports import ClusterOnHost, DomainState, EventStore, Hypervisor
from ai_how.domain.cluster import ClusterStatus
from ai_how.domain.commands import CapacityPolicy
from ai_how.domain.errors import CpusUnavailable
from ai_how.domain.ids import cluster_id, vm_id
from ai_how.domain.specs import ClusterPlan, VmPlan

from .capacity_guard import guard
from .pins import check_pins
from .redefine import ClusterChanges, cluster_changes, kept_image

CHANGES = ("create", "define", "redefine", "start", "lease", "deploy")
MARKS = {"create": "+", "define": "+", "redefine": "~", "start": "+", "lease": "+", "deploy": "+", "skip": "=",
         "refuse": "!"}


@dataclass(frozen=True)
class Action:
    kind: str  # create | define | redefine | start | lease | deploy | skip | refuse
    subject: str
    detail: str
    diff: str | None = None  # a redefinition: the domain XML as recorded -> as configured

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class ClusterPlanView:
    cluster: str
    kind: str
    actions: list[Action] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    needs_redefine: bool = False  # the config changed: only 'start --redefine' applies it

    def add(self, kind: str, subject: str, detail: str, diff: str | None = None) -> None:
        self.actions.append(Action(kind, subject, detail, diff))

    def count(self, kind: str) -> int:
        return sum(1 for a in self.actions if a.kind == kind)

    @property
    def refused(self) -> bool:
        return any(a.kind == "refuse" for a in self.actions)

    @property
    def changes(self) -> bool:
        return bool(self.drift) or any(a.kind in CHANGES for a in self.actions)

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "kind": self.kind, "actions": [a.as_dict() for a in self.actions],
                "drift": self.drift, "needs_redefine": self.needs_redefine}


def _gb(value: float) -> str:
    return f"{value:g} GiB"


def _vcpus(count: int) -> str:
    return f"{count} vCPU" if count == 1 else f"{count} vCPUs"


def _xml_diff(hypervisor: Hypervisor, recorded: VmPlan, configured: VmPlan) -> str:
    before = hypervisor.domain_xml(recorded).splitlines()
    after = hypervisor.domain_xml(configured).splitlines()
    return "\n".join(difflib.unified_diff(before, after, f"{recorded.name} (as recorded)",
                                          f"{configured.name} (as configured)", n=1, lineterm=""))


def _libvirt_state(on_host: ClusterOnHost, name: str) -> str:
    found = on_host.domains.get(name)
    if found is None:
        return "absent"
    return "running" if found.state == DomainState.RUNNING else "shut off"


def _drift(view: ClusterPlanView, store: EventStore, plan: ClusterPlan, on_host: ClusterOnHost,
           changes: ClusterChanges | None) -> None:
    """Between the config and the log, and between the log and libvirt."""
    if changes is not None and changes.changed:
        view.drift.append(f"config: {plan.name} is recorded with config digest {changes.recorded_digest}; the "
                          f"config gives {changes.config_digest}")
    if changes is None:
        return
    for difference in on_host.network_differs:
        view.drift.append(f"libvirt: network {difference}")
    for vm_plan in plan.vms:
        vm = store.read(vm_id(vm_plan.name))
        if vm is None:
            continue
        recorded, seen = str(vm.state), _libvirt_state(on_host, vm.name)
        if recorded in RUNNING and seen != "running":
            view.drift.append(f"libvirt: {vm.name} is recorded {recorded}, but libvirt has it {seen} ('ai-how "
                              "reconcile' records that)")
        elif recorded not in RUNNING and seen == "running":
            view.drift.append(f"libvirt: {vm.name} is recorded {recorded}, but libvirt has it running ('ai-how "
                              "reconcile' records that)")
        elif recorded not in ("destroyed",) and seen == "absent":
            view.drift.append(f"libvirt: {vm.name} is recorded {recorded}, but libvirt has no domain of it")


def _vm_actions(view: ClusterPlanView, store: EventStore, hypervisor: Hypervisor, topology: Any,
                plan: ClusterPlan, on_host: ClusterOnHost, changes: ClusterChanges | None) -> list[VmPlan]:
    """Each VM's actions; returns the VMs the start would start."""
    changed = {c.vm: c for c in (changes.vms if changes else [])}
    starting: list[VmPlan] = []
    for vm_plan in plan.vms:
        vm = store.read(vm_id(vm_plan.name))
        spec = vm_plan.spec
        state = _libvirt_state(on_host, vm_plan.name)
        if vm_plan.name not in on_host.disks:
            view.add("create", f"disk {vm_plan.name}", f"{spec.disk_gb} GiB"
                     + (f" on image {spec.base_image}" if spec.base_image else ""))
            if spec.base_image and not spec.base_image_path and newest(topology, spec.base_image) is None:
                view.add("refuse", vm_plan.name, f"it boots image {spec.base_image!r}, which is not built here: "
                         f"'ai-how image build {spec.base_image}' builds it")
        change = changed.get(vm_plan.name)
        if change is not None:
            recorded = VmPlan(vm.name, vm.cluster, vm.role, vm.spec)
            configured = VmPlan(vm_plan.name, vm_plan.cluster, vm_plan.role, kept_image(vm.spec, spec))
            if change.blocked:
                view.add("refuse", vm_plan.name, f"{change.summary}: {change.blocked}")
            elif state == "running":
                view.add("redefine", vm_plan.name, f"{change.summary} (once it is stopped: it runs now, and "
                         "start --redefine leaves it as it is)", _xml_diff(hypervisor, recorded, configured))
            else:
                view.add("redefine", vm_plan.name, change.summary, _xml_diff(hypervisor, recorded, configured))
        elif state == "absent":
            view.add("define", vm_plan.name, f"{_vcpus(spec.cpu_cores)}, {_gb(spec.memory_gb)}, {spec.disk_gb} GiB disk")
        if state == "running":
            if change is None:
                view.add("skip", vm_plan.name, "runs as configured")
            continue
        if not spec.auto_start:
            view.add("skip", vm_plan.name, "auto_start: false: left off ('ai-how vm start' or 'gpu move' starts it)")
            continue
        effective = vm.spec if (change is not None and change.blocked) else spec
        starting.append(VmPlan(vm_plan.name, vm_plan.cluster, vm_plan.role, effective))
        view.add("start", vm_plan.name, f"{_vcpus(effective.cpu_cores)}, {_gb(effective.memory_gb)}")
        for card in effective.gpus:
            holder = topology.gpus.get(card, {}).get("holder")
            if holder is None or holder == vm_plan.name:
                view.add("lease", f"GPU {card}", f"to {vm_plan.name} (free)")
                continue
            holder_state = topology.vms.get(holder, {}).get("state", "unknown")
            view.add("refuse", f"GPU {card}", f"to {vm_plan.name}: held by {holder} ({holder_state}); 'ai-how gpu "
                     f"move {card} --to {vm_plan.name}' hands it over")
    return starting


def plan_cluster(plan: ClusterPlan, store: EventStore, hypervisor: Hypervisor, topology: Any,
                 capacity: CapacityPolicy, deploy: bool) -> ClusterPlanView:
    view = ClusterPlanView(plan.name, plan.kind)
    on_host = hypervisor.inspect_cluster(plan)
    changes = cluster_changes(plan, store)
    view.needs_redefine = changes is not None and changes.changed
    if not on_host.network:
        net = plan.network
        view.add("create", f"network aihow-{plan.name}", f"{net['subnet']} on bridge {net['bridge']}")
    if not on_host.pool:
        view.add("create", f"pool aihow-{plan.name}", "a directory pool for its disks")
    for problem in changes.refused if changes else []:
        view.add("refuse", plan.name, problem)
    starting = _vm_actions(view, store, hypervisor, topology, plan, on_host, changes)
    recorded = store.read(cluster_id(plan.name))
    try:
        guard(hypervisor.host_capacity, topology, starting, capacity, recorded, free_hugepages=hypervisor.free_hugepages)
    except CapacityExceeded as exc:
        view.add("refuse", "capacity", f"{exc} ({exc.hint})")
    try:
        check_pins(starting, store, hypervisor.host_cpu_layout)
    except CpusUnavailable as exc:
        view.add("refuse", "cpu pinning", f"{exc}" + (f" ({exc.hint})" if exc.hint else ""))
    if deploy:
        what = "SLURM, by Ansible ('ai-how hpc deploy')" if plan.kind == "hpc" else \
            "Kubernetes by Kubespray, then its add-ons ('ai-how cloud deploy')"
        running = {vm.name for vm in starting} | {name for name, d in on_host.domains.items()
                                                   if d.state == DomainState.RUNNING}
        if recorded is None or recorded.status == ClusterStatus.DESTROYED or not recorded.is_deployed:
            view.add("deploy", plan.name, what)
        elif plan.kind == "hpc" and (missing := sorted(running - set(recorded.last_deploy.hosts or {}))):
            view.add("deploy", plan.name, f"{what}: {', '.join(missing)} not in the deployed layout")
        else:
            view.add("skip", "deploy", f"deployed (run {recorded.last_deploy.run_id})")
    _drift(view, store, plan, on_host, changes)
    return view
