"""The ``Hypervisor`` port on libvirt."""

from __future__ import annotations

import os
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import DomainInfo, DomainState, PrepareReport, TeardownReport
from ai_how.domain.specs import ClusterPlan, VmPlan

from . import domains, networks, storage
from .connection import HypervisorError, connect, libvirt_errors
from .domains import Profile
from .xml import network_name, render_domain, spec_digest


class MissingBaseImage(UsageError):
    """A configured base image is not on disk (exit code 2: fix the config or build the image)."""


# Best first. A start refused for the CPU model or for KVM moves to the next profile that
# avoids the refusal; the one that works is kept for the rest of the process.
PROFILES = (Profile("kvm", "host-passthrough"), Profile("kvm", None), Profile("qemu", None))
# QEMU sometimes dies before libvirt reaches its monitor right after an aborted start of the
# same domain (seen on nested hosts); one more try, same profile, after a pause.
TRANSIENT_RETRIES = 1
TRANSIENT_PAUSE_S = 1.0


class LibvirtHypervisor:
    def __init__(self, uri: str, pool_root: Path, domain_type: str | None = None) -> None:
        self.uri = uri
        self.pool_root = pool_root
        self._profiles = [p for p in PROFILES if domain_type in (None, p.domain_type)]
        self._profile: Profile | None = None
        self._lock = threading.Lock()

    @property
    def conn(self) -> Any:
        return connect(self.uri)

    def _current_profile(self) -> Profile:
        with self._lock:
            if self._profile is None:
                with libvirt_errors("cannot read the host's capabilities"):
                    caps = ET.fromstring(self.conn.getCapabilities())
                has_kvm = "kvm" in {d.get("type") for d in caps.iter("domain")}
                usable = [p for p in self._profiles if has_kvm or p.domain_type != "kvm"]
                self._profile = (usable or self._profiles)[0]
            return self._profile

    def _fall_back(self, failed: Profile, error: str) -> Profile | None:
        """The next profile that avoids what refused ``failed``, or None if nothing would."""
        if domains.is_kvm_refusal(error):
            candidates = [p for p in self._profiles if p.domain_type != "kvm"]
        elif domains.is_cpu_model_refusal(error) and failed.cpu_mode:
            candidates = [p for p in self._profiles if p.cpu_mode is None]
        else:
            return None
        with self._lock:
            self._profile = next(iter(candidates), None)
            return self._profile

    def _define(self, vm: VmPlan, disk_path: str, profile: Profile | None = None, uuid: str | None = None) -> Any:
        profile = profile or self._current_profile()
        return domains.define(self.conn, render_domain(vm, disk_path, profile.domain_type,
                                                       cpu_mode=profile.cpu_mode, uuid=uuid))

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
        disk, _ = storage.ensure_disk(storage.ensure_pool(self.conn, vm.cluster, self.pool_root), vm)
        if dom is None:
            dom = self._define(vm, disk)
        profile = domains.profile_of(dom)
        retries = TRANSIENT_RETRIES
        while True:
            try:
                domains.start(dom, wait_s)
                return
            except HypervisorError as refused:
                fallback = self._fall_back(profile, str(refused))
                if fallback is not None:
                    profile = fallback
                    dom = self._define(vm, disk, profile, uuid=dom.UUIDString())
                elif retries and domains.is_early_death(str(refused)):
                    retries -= 1
                    time.sleep(TRANSIENT_PAUSE_S)
                else:
                    raise

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

    def remove_domain(self, name: str, cluster: str) -> None:
        with libvirt_errors(f"cannot look up domain {name}"):
            dom = domains.lookup(self.conn, name)
        if dom is not None:
            domains.undefine(dom)
        storage.remove_volume(self.conn, cluster, name)

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
