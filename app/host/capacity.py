"""What the VMs would take of this host: the vCPUs and memory of every VM recorded as running
(any cluster) plus those a start of the config would add, against libvirt's node info. The
VMs may use the host's memory less ``global.host_reserve_gb``, and ``global.max_vcpu_ratio``
vCPUs per host CPU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .checks import Check

LIVE = ("running", "starting")


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

    def as_dict(self) -> dict[str, Any]:
        return {"host_cpus": self.host_cpus, "host_memory_gb": round(self.host_memory_gb, 1),
                "reserve_gb": self.reserve_gb, "max_vcpu_ratio": self.ratio, "vcpus": self.vcpus,
                "vcpu_limit": self.vcpu_limit, "memory_gb": round(self.memory_gb, 1),
                "memory_limit_gb": round(self.memory_limit_gb, 1),
                "running": [{"vm": n, "vcpus": v, "memory_gb": m} for n, v, m in self.running],
                "to_start": [{"vm": n, "vcpus": v, "memory_gb": m} for n, v, m in self.to_start]}


def capacity(topology: Any, clusters: list[Any], host_cpus: int, host_memory_mib: int, reserve_gb: float,
             ratio: float) -> Capacity:
    running = [(name, int(vm["spec"]["cpu_cores"]), float(vm["spec"]["memory_gb"]))
               for name, vm in sorted(topology.vms.items()) if vm["state"] in LIVE]
    live = {name for name, _, _ in running}
    to_start = [(vm.name, vm.spec.cpu_cores, float(vm.spec.memory_gb)) for cluster in clusters
                for vm in cluster.plan.vms if vm.spec.auto_start and vm.name not in live]
    return Capacity(host_cpus, host_memory_mib / 1024, reserve_gb, ratio, running, to_start)


def _gb(value: float) -> str:
    return f"{value:g} GiB" if value == int(value) else f"{value:.1f} GiB"


def _biggest(entries: list[tuple[str, int, float]], index: int) -> str:
    ranked = sorted(entries, key=lambda e: -e[index])[:3]
    unit = " GiB" if index == 2 else " vCPUs"
    return ", ".join(f"{e[0]} ({e[index]:g}{unit})" for e in ranked)


def capacity_checks(found: Capacity) -> list[Check]:
    parts = (f"{_gb(sum(m for _, _, m in found.running))} running, "
             f"{_gb(sum(m for _, _, m in found.to_start))} to start")
    memory = (f"{_gb(found.memory_gb)} for the VMs, of {_gb(found.memory_limit_gb)} they may use "
              f"({_gb(found.host_memory_gb)} less global.host_reserve_gb {found.reserve_gb:g}): {parts}")
    vcpu_parts = (f"{sum(v for _, v, _ in found.running)} running, {sum(v for _, v, _ in found.to_start)} to start")
    vcpus = (f"{found.vcpus} vCPUs for the VMs, of {found.vcpu_limit:g} they may use ({found.host_cpus} CPUs × "
             f"global.max_vcpu_ratio {found.ratio:g}): {vcpu_parts}")
    every = found.running + found.to_start
    checks = []
    if found.memory_gb <= found.memory_limit_gb:
        checks.append(Check("pass", "capacity: memory", memory))
    else:
        checks.append(Check("fail", "capacity: memory", memory,
                            f"run fewer VMs at once (the largest: {_biggest(every, 2)}), lower their memory_gb, "
                            "or set global.host_reserve_gb lower"))
    if found.vcpus <= found.vcpu_limit:
        checks.append(Check("pass", "capacity: vCPUs", vcpus))
    else:
        checks.append(Check("fail", "capacity: vCPUs", vcpus,
                            f"run fewer VMs at once (the largest: {_biggest(every, 1)}), lower their cpu_cores, "
                            "or raise global.max_vcpu_ratio"))
    return checks
