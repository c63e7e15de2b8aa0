"""What the VMs would take of this host: the vCPUs and memory of every VM recorded as running
(any cluster) plus those a start of the config would add, against libvirt's node info. The
VMs may use the host's memory less ``global.host_reserve_gb``, and ``global.max_vcpu_ratio``
vCPUs per host CPU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_how.domain.errors import DomainError
from ai_how.domain.specs import page_name

from .checks import Check

LIVE = ("running", "starting")


class CapacityExceeded(DomainError):
    """A start that would take more of the host than the limits allow (exit 1; --force overrides)."""

    def __init__(self, message: str, fix: str, snapshot: dict[str, Any]) -> None:
        super().__init__(message)
        self.fix = fix
        self.hint = f"fix: {fix}. --force starts it anyway (recorded)"
        self.snapshot = snapshot


@dataclass(frozen=True)
class Capacity:
    host_cpus: int
    host_memory_gb: float
    reserve_gb: float
    ratio: float
    running: list[tuple[str, int, float]]  # (VM, vCPUs, memory GiB)
    to_start: list[tuple[str, int, float]]

    @property
    def vcpus(self) -> int:
        return sum(v for _, v, _ in self.running + self.to_start)

    @property
    def vcpu_limit(self) -> float:
        return self.host_cpus * self.ratio

    @property
    def memory_gb(self) -> float:
        return sum(m for _, _, m in self.running + self.to_start)

    @property
    def memory_limit_gb(self) -> float:
        return max(0.0, self.host_memory_gb - self.reserve_gb)

    def as_snapshot(self) -> dict[str, Any]:
        """What a decision over the limits is recorded with."""
        return {"host_cpus": self.host_cpus, "host_memory_gb": round(self.host_memory_gb, 2),
                "reserve_gb": self.reserve_gb, "max_vcpu_ratio": self.ratio,
                "vcpus": self.vcpus, "vcpu_limit": self.vcpu_limit,
                "memory_gb": round(self.memory_gb, 2), "memory_limit_gb": round(self.memory_limit_gb, 2),
                "running": [list(e) for e in self.running], "to_start": [list(e) for e in self.to_start]}


def capacity(topology: Any, to_start: list[Any], host_cpus: int, host_memory_mib: int, reserve_gb: float,
             ratio: float, leaving: tuple[str, ...] = ()) -> Capacity:
    """``to_start``: VM plans (those already running count once); ``leaving``: VMs that stop first."""
    running = [(name, int(vm["spec"]["cpu_cores"]), float(vm["spec"]["memory_gb"]))
               for name, vm in sorted(topology.vms.items()) if vm["state"] in LIVE and name not in leaving]
    live = {name for name, _, _ in running}
    starting = [(vm.name, vm.spec.cpu_cores, float(vm.spec.memory_gb)) for vm in to_start if vm.name not in live]
    return Capacity(host_cpus, host_memory_mib / 1024, reserve_gb, ratio, running, starting)


def to_start_of(clusters: list[Any]) -> list[Any]:
    """What starting these planned clusters would start: their auto_start VMs."""
    return [vm for cluster in clusters for vm in cluster.plan.vms if vm.spec.auto_start]


def _gb(value: float) -> str:
    return f"{value:g} GiB" if value == int(value) else f"{value:.1f} GiB"


def _biggest(entries: list[tuple[str, int, float]], index: int) -> str:
    ranked = sorted(entries, key=lambda e: float(e[index]), reverse=True)[:3]
    unit = " GiB" if index == 2 else " vCPUs"
    return ", ".join(f"{e[0]} ({e[index]:g}{unit})" for e in ranked)


def _check(subject: str, used: float, limit: float, message: str, fix: str) -> Check:
    return Check("pass", subject, message) if used <= limit else Check("fail", subject, message, fix)


def capacity_checks(found: Capacity) -> list[Check]:
    parts = (f"{_gb(sum(m for _, _, m in found.running))} running, "
             f"{_gb(sum(m for _, _, m in found.to_start))} to start")
    memory = (f"{_gb(found.memory_gb)} for the VMs, of {_gb(found.memory_limit_gb)} they may use "
              f"({_gb(found.host_memory_gb)} less global.host_reserve_gb {found.reserve_gb:g}): {parts}")
    vcpu_parts = (f"{sum(v for _, v, _ in found.running)} running, {sum(v for _, v, _ in found.to_start)} to start")
    vcpus = (f"{found.vcpus} vCPUs for the VMs, of {found.vcpu_limit:g} they may use ({found.host_cpus} CPUs × "
             f"global.max_vcpu_ratio {found.ratio:g}): {vcpu_parts}")
    every = found.running + found.to_start
    return [_check("capacity: memory", found.memory_gb, found.memory_limit_gb, memory,
                   f"run fewer VMs at once (the largest: {_biggest(every, 2)}), lower their memory_gb, "
                   "or set global.host_reserve_gb lower"),
            _check("capacity: vCPUs", found.vcpus, found.vcpu_limit, vcpus,
                   f"run fewer VMs at once (the largest: {_biggest(every, 1)}), lower their cpu_cores, "
                   "or raise global.max_vcpu_ratio")]


class HugepagesShort(DomainError):
    """A start whose VMs' memory is backed by hugepages the host has not reserved (exit 1; no
    --force: QEMU would fail to start it)."""


def hugepages_needed(to_start: list[Any], topology: Any) -> dict[int, list[tuple[str, int]]]:
    """By page size: (VM, pages) of each VM to start (not already running) backed by hugepages."""
    needed: dict[int, list[tuple[str, int]]] = {}
    for vm in to_start:
        kib = vm.spec.hugepages_kib
        if kib and topology.vms.get(vm.name, {}).get("state") not in LIVE:
            needed.setdefault(kib, []).append((vm.name, int(vm.spec.memory_gb * 1024 * 1024) // kib))
    return needed


def hugepage_checks(needed: dict[int, list[tuple[str, int]]], free: dict[int, int]) -> list[Check]:
    checks = []
    for kib, vms in sorted(needed.items()):
        want, have = sum(n for _, n in vms), free.get(kib)
        subject, who = f"hugepages: {page_name(kib)}", ", ".join(f"{name} ({n})" for name, n in vms)
        pool = f"/sys/kernel/mm/hugepages/hugepages-{kib}kB/nr_hugepages"
        if have is None:
            checks.append(Check("fail", subject, f"{who} want {page_name(kib)} hugepages, which this host does not "
                                f"offer", "choose hugepage_size 2M, or boot the host with 1 GiB pages "
                                "(default_hugepagesz=1G hugepagesz=1G hugepages=N on its kernel command line)"))
        elif have < want:
            checks.append(Check("fail", subject, f"{want} pages of {page_name(kib)} for {who}, {have} free",
                                f"reserve {want - have} more: echo $(( $(cat {pool}) + {want - have} )) > {pool} "
                                "(and give them back when the VMs are gone)"))
        else:
            checks.append(Check("pass", subject, f"{want} pages of {page_name(kib)} for {who}, {have} free"))
    return checks


def enforce_hugepages(to_start: list[Any], topology: Any, free: dict[int, int]) -> None:
    """Refuse a start whose hugepages are not free, before anything is made."""
    failed = [c for c in hugepage_checks(hugepages_needed(to_start, topology), free) if c.status == "fail"]
    if failed:
        short = HugepagesShort("; ".join(f"{c.subject}: {c.message}" for c in failed) + ": nothing was started")
        short.hint = "fix: " + "; ".join(c.fix for c in failed if c.fix)
        raise short


def enforce(found: Capacity, force: bool) -> dict[str, Any] | None:
    """Refuse a start beyond the limits; with ``force``, the snapshot to record (None: within them)."""
    failed = [c for c in capacity_checks(found) if c.status == "fail"]
    if not failed:
        return None
    snapshot = found.as_snapshot() | {"exceeded": [c.subject.removeprefix("capacity: ") for c in failed]}
    if force:
        return snapshot
    names = ", ".join(name for name, _, _ in found.to_start)
    raise CapacityExceeded(
        f"starting {names} would take more of this host than it may give: "
        + "; ".join(f"{c.subject.removeprefix('capacity: ')}: {c.message}" for c in failed),
        "; or ".join(c.fix for c in failed if c.fix), snapshot)
