"""The ``Hypervisor`` port on libvirt."""

from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import DomainInfo, DomainState, PrepareReport, TeardownReport
from ai_how.domain.specs import ClusterPlan, VmPlan

from . import domains, networks, storage
from .connection import HypervisorError, connect, libvirt_errors
from .xml import network_name, render_domain, spec_digest


class MissingBaseImage(UsageError):
    """A configured base image is not on disk (exit code 2: fix the config or build the image)."""


class LibvirtHypervisor:
    def __init__(self, uri: str, pool_root: Path, domain_type: str | None = None) -> None:
        self.uri = uri
        self.pool_root = pool_root
        self._domain_type = domain_type
        self._lock = threading.Lock()

    @property
    def conn(self) -> Any:
        return connect(self.uri)

    def _preferred_domain_type(self) -> str:
        """KVM when the host offers it; a refusal at start time switches to TCG (see start_vm)."""
        with self._lock:
            if self._domain_type is None:
                with libvirt_errors("cannot read the host's capabilities"):
                    caps = ET.fromstring(self.conn.getCapabilities())
                kinds = {d.get("type") for d in caps.iter("domain")}
                self._domain_type = "kvm" if "kvm" in kinds else "qemu"
            return self._domain_type

    def _define(self, vm: VmPlan, disk_path: str, domain_type: str | None = None) -> Any:
        xml = render_domain(vm, disk_path, domain_type or self._preferred_domain_type())
        return domains.define(self.conn, xml)

    def _check_base_images(self, plan: ClusterPlan) -> None:
        for vm in plan.vms:
            base = vm.spec.base_image_path
            if base and not os.path.isfile(base):
                raise MissingBaseImage(
                    f"base image {base} of {vm.name} does not exist; build it (packer) or fix base_image_path "
                    "in the config. Nothing was created.")

    def prepare_cluster(self, plan: ClusterPlan) -> PrepareReport:
        self._check_base_images(plan)
        report = PrepareReport()
        net_created, net_differs = networks.ensure(self.conn, plan.name, plan.network, list(plan.vms))
        report.differs += net_differs
        if net_created:
            report.created.append(f"network {network_name(plan.name)}")
        pool = storage.ensure_pool(self.conn, plan.name, self.pool_root)
        for vm in plan.vms:
            disk, disk_created = storage.ensure_disk(pool, vm)
            if disk_created and not vm.spec.base_image_path:
                report.warnings.append(f"{vm.name} has no base image: it gets a blank disk and boots to firmware")
            with libvirt_errors(f"cannot look up domain {vm.name}"):
                dom = domains.lookup(self.conn, vm.name)
            if dom is None:
                self._define(vm, disk)
                report.created.append(f"domain {vm.name}")
                continue
            found = domains.info(dom)
            if found is None:
                raise HypervisorError(f"a domain named {vm.name} exists but was not made by ai-how; "
                                      "rename or remove it, or rename the cluster")
            if found.spec_digest != spec_digest(vm):
                report.differs.append(f"domain {vm.name} was defined from another configuration; "
                                      f"destroy the cluster and start it again to apply this one")
            else:
                report.adopted.append(vm.name)
        return report

    def start_vm(self, network: dict[str, str], vm: VmPlan, wait_s: float) -> None:
        networks.ensure_active(self.conn, vm.cluster)
        with libvirt_errors(f"cannot look up domain {vm.name}"):
            dom = domains.lookup(self.conn, vm.name)
        if dom is None:
            disk, _ = storage.ensure_disk(storage.ensure_pool(self.conn, vm.cluster, self.pool_root), vm)
            dom = self._define(vm, disk)
        try:
            domains.start(dom, wait_s)
        except HypervisorError as refused:
            if domains.domain_type_of(dom) != "kvm" or not domains.is_kvm_refusal(str(refused)):
                raise
            with self._lock:
                self._domain_type = "qemu"
            disk, _ = storage.ensure_disk(storage.ensure_pool(self.conn, vm.cluster, self.pool_root), vm)
            domains.start(self._define(vm, disk, "qemu"), wait_s)

    def shutdown_vm(self, name: str, timeout_s: float) -> str:
        with libvirt_errors(f"cannot look up domain {name}"):
            dom = domains.lookup(self.conn, name)
        return "already off" if dom is None else domains.shutdown(dom, timeout_s)

    def domain_state(self, name: str) -> DomainState:
        with libvirt_errors(f"cannot look up domain {name}"):
            dom = domains.lookup(self.conn, name)
            return DomainState.ABSENT if dom is None else domains.state_of(dom)

    def list_domains(self) -> list[DomainInfo]:
        return domains.ours(self.conn)

    def teardown_cluster(self, cluster: str) -> TeardownReport:
        removed = []
        for found in self.list_domains():
            if found.cluster == cluster:
                with libvirt_errors(f"cannot look up domain {found.name}"):
                    dom = domains.lookup(self.conn, found.name)
                if dom is not None:
                    domains.undefine(dom)
                    removed.append(found.name)
        volumes, pool = storage.remove_pool(self.conn, cluster)
        network = networks.remove(self.conn, cluster)
        return TeardownReport(removed, volumes, pool, network)
