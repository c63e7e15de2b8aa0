"""The ``Hypervisor`` port on libvirt."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import ClusterOnHost, DomainInfo, DomainState, Hypervisor, PrepareReport, TeardownReport
from ai_how.app.waiting import poll
from ai_how.domain.specs import ClusterPlan, VmPlan

from . import domains, host_cpus, networks, storage
from .connection import HypervisorError, connect, libvirt_errors
from .disk_chain import disk_file
from .domains import Profile
from .profiles import StartProfiles
from .shared_folders import ensure_shared_folders
from .xml import console_log, cpu_features, network_name, render_domain, seed_name, shared_dir, spec_digest, volume_name


class MissingBaseImage(UsageError):
    """A configured base image is not on disk (exit code 2: fix the config or build the image)."""


# QEMU sometimes dies before libvirt reaches its monitor right after an aborted start of the
# same domain (seen on nested hosts); one more try, same profile, after a pause.
TRANSIENT_RETRIES = 1
TRANSIENT_PAUSE_S = 1.0
READY_POLL_S = 2.0
HUGEPAGE_KIB = (2048, 1048576)  # x86's hugepage sizes

Ready = Callable[[], tuple[bool, str]]


def qemu_log_tail(name: str, lines: int = 3, path: str | None = None) -> str:
    try:
        text = Path(path or f"/var/log/libvirt/qemu/{name}.log").read_text(errors="replace")
    except OSError:
        return ""
    tail = [line.strip() for line in text.strip().splitlines()[-lines:]]
    return " | ".join(tail)


class LibvirtHypervisor(Hypervisor):
    def __init__(self, uri: str, pool_root: Path, domain_type: str | None = None,
                 profiles: list[Profile] | None = None, memory: Path | None = None) -> None:
        self.uri = uri
        self.pool_root = pool_root
        self.profiles = StartProfiles(profiles, domain_type, memory, self._capabilities)

    @property
    def conn(self) -> Any:
        return connect(self.uri)

    def _capabilities(self) -> str:
        with libvirt_errors("cannot read the host's capabilities"):
            return str(self.conn.getCapabilities())

    def profiles_for(self, vm: VmPlan) -> list[Profile]:
        return self.profiles.for_vm(vm)

    def _seed_path(self, vm: VmPlan) -> str | None:
        return str(self.pool_root / vm.cluster / seed_name(vm.name)) if vm.spec.has_os else None

    def _define(self, vm: VmPlan, disk_path: str, profile: Profile, uuid: str | None = None) -> Any:
        if vm.spec.has_os and self.uri == "qemu:///system":
            domains.ensure_console_folder()
        return domains.define(self.conn, self._render(vm, disk_path, profile, uuid))

    def _render(self, vm: VmPlan, disk_path: str, profile: Profile, uuid: str | None) -> str:
        return render_domain(vm, disk_path, profile.domain_type, pool_root=self.pool_root, cpu_mode=profile.cpu_mode,
                             uuid=uuid, seed_path=self._seed_path(vm), host_flags=host_cpus.cpu_flags())

    def _check_base_images(self, plan: ClusterPlan) -> None:
        for vm in plan.vms:
            base = vm.spec.base_image_path
            if base and not os.path.isfile(base):
                raise MissingBaseImage(
                    f"base image {base} of {vm.name} does not exist; build it ('ai-how image build') or fix "
                    "base_image_path in the config. Nothing was created.")
            if base and storage.virtual_size(base) > vm.spec.disk_gb * 2**30:
                needed = -(-storage.virtual_size(base) // 2**30)
                raise MissingBaseImage(
                    f"{vm.name} has disk_gb {vm.spec.disk_gb}, smaller than its image {base} "
                    f"({needed} GB); give it disk_gb: {needed} or more. Nothing was created.")

    def _write_seeds(self, plan: ClusterPlan, seeds: dict[str, dict[str, str]]) -> None:
        from ai_how.adapters.imaging.seed import write_seed_iso

        for vm in plan.vms:
            path = self._seed_path(vm)
            if path and vm.name in seeds and not os.path.exists(path):
                write_seed_iso(Path(path), seeds[vm.name])

    def shared_storage(self, cluster: str, host_path: str = "") -> str:
        return host_path or shared_dir(self.pool_root, cluster)

    def prepare_cluster(self, plan: ClusterPlan, seeds: dict[str, dict[str, str]] | None = None) -> PrepareReport:
        self._check_base_images(plan)
        report = PrepareReport()
        report.created += ensure_shared_folders(plan, self.shared_storage)  # first: a full disk refuses first
        net_created, net_differs = networks.ensure(self.conn, plan.name, plan.network, list(plan.vms))
        report.differs += net_differs
        if net_created:
            report.created.append(f"network {network_name(plan.name)}")
        pool = storage.ensure_pool(self.conn, plan.name, self.pool_root)
        self._write_seeds(plan, seeds or {})
        for vm in plan.vms:
            disk, disk_created = storage.ensure_disk(pool, vm)
            if disk_created and not vm.spec.base_image_path:
                report.warnings.append(f"{vm.name} has no base image: it gets a blank disk and boots to firmware")
            with libvirt_errors(f"cannot look up domain {vm.name}"):
                dom = domains.lookup(self.conn, vm.name)
            if dom is None:
                self._define(vm, disk, self.profiles_for(vm)[0])
                report.created.append(f"domain {vm.name}")
                continue
            found = domains.info(dom)
            if found is None:
                raise HypervisorError(f"a domain named {vm.name} exists but was not made by ai-how; "
                                      "rename or remove it, or rename the cluster")
            if found.spec_digest != spec_digest(vm):
                report.differs.append(f"domain {vm.name} was defined from another configuration; 'ai-how plan "
                                      "CONFIG' shows the change, and 'start CONFIG --redefine' applies it once the "
                                      "VM is stopped")
            else:
                report.adopted.append(vm.name)
        return report

    def start_vm(self, network: dict[str, str], vm: VmPlan, wait_s: float, ready: Ready | None = None,
                 ready_wait_s: float = 0.0, progress: Callable[[str], None] | None = None) -> str:
        """Start the domain; with ``ready``, until the guest answers. Returns the profile's name."""
        say = progress or (lambda _message: None)
        networks.ensure_active(self.conn, vm.cluster)
        with libvirt_errors(f"cannot look up domain {vm.name}"):
            dom = domains.lookup(self.conn, vm.name)
        disk, _ = storage.ensure_disk(storage.ensure_pool(self.conn, vm.cluster, self.pool_root), vm)
        disk = (disk_file(dom) if dom is not None else None) or disk  # a snapshot's overlay, if it has one
        seed = self._seed_path(vm)
        if seed and not os.path.exists(seed):
            raise HypervisorError(f"the cloud-init seed of {vm.name} ({seed}) is missing; start its cluster with "
                                  "'ai-how hpc|cloud start CONFIG' to write it again")
        if dom is None:
            dom = self._define(vm, disk, self.profiles_for(vm)[0])
        if domains.state_of(dom) == DomainState.RUNNING and ready is None:
            return "already running"
        candidates = self.profiles.from_defined(vm, domains.profile_of(dom))
        deaths: list[str] = []
        while candidates:
            profile = candidates.pop(0)
            if vm.pins is not None or domains.profile_of(dom) != (profile.domain_type, profile.cpu_mode):
                dom = self._define(vm, disk, profile, uuid=dom.UUIDString())  # this start's pins, if pinned
            for left_out in cpu_features(vm, profile.domain_type, profile.cpu_mode, host_cpus.cpu_flags())[1]:
                say(f"CPU feature {left_out} left out")
            if vm.pins is not None:
                say(f"pinned: {vm.pins.describe()}")
            try:
                self._start(dom, wait_s)
            except HypervisorError as refused:
                candidates = self.profiles.after_refusal(profile, str(refused), candidates)
                if candidates:
                    say(f"{profile.name} refused ({refused}); trying {candidates[0].name}")
                    continue
                raise
            if profile.dies_after_s is not None:
                threading.Timer(profile.dies_after_s, self._kill, (vm.name,)).start()
            if ready is None:
                self.profiles.remember(profile)
                return profile.name
            say(f"booting ({profile.name})")
            outcome, why = self._await_ready(dom, ready, ready_wait_s)
            if outcome == "ready":
                self.profiles.remember(profile)
                return profile.name
            if outcome == "timeout":
                domains.shutdown(dom, 0)
                seen = qemu_log_tail(vm.name, 5, console_log(vm.name))
                raise HypervisorError(f"{vm.name} ran but its guest did not answer SSH within {ready_wait_s:g}s "
                                      f"({why}); its console is kept in {console_log(vm.name)}"
                                      + (f", ending: {seen}" if seen else ""))
            state = domains.state_of(dom)
            self._force_off(dom)  # a guest KVM could not run is left paused: it must not linger
            log = qemu_log_tail(vm.name)
            deaths.append(f"{profile.name}: {state}; {log or 'no reason in its log'}")
            if candidates:
                say(f"died while booting on {profile.name}; trying {candidates[0].name}")
        raise HypervisorError(f"{vm.name} died while booting on every start profile ("
                              + "; ".join(deaths) + ")")

    def _start(self, dom: Any, wait_s: float) -> None:
        retries = TRANSIENT_RETRIES
        while True:
            try:
                domains.start(dom, wait_s)
                return
            except HypervisorError as refused:
                if retries and domains.is_early_death(str(refused)):
                    retries -= 1
                    time.sleep(TRANSIENT_PAUSE_S)
                    continue
                raise

    def _await_ready(self, dom: Any, ready: Ready, wait_s: float) -> tuple[str, str]:
        """'ready', 'died' (the domain stopped running) or 'timeout', and the last reason."""
        last = ["no answer yet"]

        def look() -> tuple[str, str]:
            if domains.state_of(dom) != DomainState.RUNNING:
                return "died", last[0]
            answered, last[0] = ready()
            return ("ready", "") if answered else ("timeout", last[0])

        return poll(look, lambda seen: seen[0] != "timeout", wait_s, READY_POLL_S)

    def _force_off(self, dom: Any) -> None:
        with libvirt_errors(f"cannot force {dom.name()} off"):
            domains.force_off(dom)

    def _kill(self, name: str) -> None:
        """The test profile's death: what libvirtd does to a nested guest it cannot run."""
        try:
            dom = domains.lookup(self.conn, name)
            if dom is not None and dom.isActive():
                dom.destroy()
        except Exception:  # noqa: BLE001 - a test death that finds nothing to kill is no error
            pass

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

    def host_capacity(self) -> tuple[int, int]:
        with libvirt_errors("cannot read the host's node info"):
            info = self.conn.getInfo()  # [model, memory MiB, CPUs, MHz, NUMA nodes, sockets, cores, threads]
        return int(info[2]), int(info[1])

    def free_hugepages(self) -> dict[int, int]:
        import libvirt

        free: dict[int, int] = {}
        with libvirt_errors("cannot read the host's node info"):
            cells = max(1, int(self.conn.getInfo()[4]))
        for size in HUGEPAGE_KIB:
            try:
                found = self.conn.getFreePages([size], 0, cells)
            except libvirt.libvirtError:
                continue  # a size this host's kernel does not offer
            counts = [by_size[size] for by_size in (found or {}).values() if size in by_size]
            if counts:
                free[size] = sum(counts)
        return free

    def host_cpu_layout(self) -> dict[int, list[int]]:
        layout = host_cpus.layout(self._capabilities())
        return layout or {0: list(range(self.host_capacity()[0]))}

    def inspect_cluster(self, plan: ClusterPlan) -> ClusterOnHost:
        with libvirt_errors(f"cannot look at cluster {plan.name} in libvirt"):
            net = networks.lookup(self.conn, plan.name)
            pool = storage.lookup_pool(self.conn, plan.name)
            disks = {}
            if pool is not None and pool.isActive():
                for vm in plan.vms:
                    volume = storage.lookup_volume(pool, vm.name)
                    if volume is not None:
                        disks[vm.name] = int(volume.info()[1])
            found = {d.name: d for d in self.list_domains() if d.name in {vm.name for vm in plan.vms}}
        return ClusterOnHost(net is not None, networks.differences(net, plan.network) if net is not None else [],
                             pool is not None, disks, found)

    def _defined_as(self, vm: VmPlan) -> tuple[Any, Any, str, Profile]:
        """(the domain or None, its disk's volume or None, the disk's path, the profile it is or
        would be defined with)."""
        with libvirt_errors(f"cannot look up domain {vm.name}"):
            dom = domains.lookup(self.conn, vm.name)
            pool = storage.lookup_pool(self.conn, vm.cluster)
            volume = storage.lookup_volume(pool, vm.name) if pool is not None and pool.isActive() else None
        disk = volume.path() if volume is not None else str(self.pool_root / vm.cluster / volume_name(vm.name))
        if dom is not None and (top := disk_file(dom)) is not None and top != disk:  # after a snapshot
            volume, disk = storage.volume_at(pool, top) if pool is not None else None, top
        profiles = self.profiles.from_defined(vm, domains.profile_of(dom)) if dom is not None else self.profiles_for(vm)
        return dom, volume, disk, profiles[0]

    def domain_xml(self, vm: VmPlan) -> str:
        dom, _, disk, profile = self._defined_as(vm)
        return self._render(vm, disk, profile, dom.UUIDString() if dom is not None else None)

    def redefine_vm(self, vm: VmPlan) -> list[str]:
        dom, volume, disk, profile = self._defined_as(vm)
        if dom is not None and domains.state_of(dom) != DomainState.SHUTOFF:
            raise HypervisorError(f"{vm.name} is not shut off; stop it before it is redefined")
        changed = []
        with libvirt_errors(f"cannot grow the disk of {vm.name}"):
            wanted = vm.spec.disk_gb * 2**30
            if volume is not None:
                size = int(volume.info()[1])
                if size > wanted:
                    raise HypervisorError(f"the disk of {vm.name} is {size / 2**30:g} GiB, larger than disk_gb "
                                          f"{vm.spec.disk_gb}: a disk is never shrunk")
                if size < wanted:
                    volume.resize(wanted, 0)
                    changed.append(f"disk grown from {size / 2**30:g} to {vm.spec.disk_gb} GiB")
        self._define(vm, disk, profile, uuid=dom.UUIDString() if dom is not None else None)
        changed.append("domain defined again")
        return changed

    def _remove_seed(self, cluster: str, name: str) -> None:
        try:
            os.remove(self.pool_root / cluster / seed_name(name))
        except FileNotFoundError:
            pass

    def remove_domain(self, name: str, cluster: str) -> None:
        with libvirt_errors(f"cannot look up domain {name}"):
            dom = domains.lookup(self.conn, name)
        if dom is not None:
            domains.undefine(dom)
        storage.remove_volume(self.conn, cluster, name)
        for layer in (self.pool_root / cluster).glob(f"{name}@*.qcow2"):  # its snapshots' layers
            layer.unlink()
        self._remove_seed(cluster, name)

    def teardown_cluster(self, cluster: str) -> TeardownReport:
        removed = []
        for found in self.list_domains():
            if found.cluster == cluster:
                with libvirt_errors(f"cannot look up domain {found.name}"):
                    dom = domains.lookup(self.conn, found.name)
                if dom is not None:
                    domains.undefine(dom)
                    removed.append(found.name)
                self._remove_seed(cluster, found.name)
        volumes, pool = storage.remove_pool(self.conn, cluster)
        network = networks.remove(self.conn, cluster)
        return TeardownReport(removed, volumes, pool, network)
