"""Every start is held to the host's capacity: what runs plus what it starts, against the
limits of the VM's cluster (see ``app.host.capacity``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ai_how.app.host.capacity import capacity, enforce, enforce_hugepages
from ai_how.domain.commands import DEFAULT_RESERVE_GB, DEFAULT_VCPU_RATIO, CapacityPolicy
from ai_how.domain.specs import VmPlan


def limits(policy: CapacityPolicy, cluster: Any) -> tuple[float, float]:
    recorded = (cluster.host_limits if cluster is not None else None) or {}
    reserve = policy.reserve_gb if policy.reserve_gb is not None else recorded.get("reserve_gb", DEFAULT_RESERVE_GB)
    ratio = (policy.max_vcpu_ratio if policy.max_vcpu_ratio is not None
             else recorded.get("max_vcpu_ratio", DEFAULT_VCPU_RATIO))
    return float(reserve), float(ratio)


def guard(host_capacity: Callable[[], tuple[int, int]], topology: Any, to_start: list[VmPlan], policy: CapacityPolicy, cluster: Any,
          leaving: tuple[str, ...] = (), free_hugepages: Callable[[], dict[int, int]] | None = None
          ) -> dict[str, Any] | None:
    """Refuse (``CapacityExceeded``) a start beyond the limits; forced, the snapshot to record.
    Hugepages the VMs need and the host has not free refuse it whatever the policy."""
    if not to_start:
        return None
    if free_hugepages is not None and any(vm.spec.hugepages_kib for vm in to_start):
        enforce_hugepages(to_start, topology, free_hugepages())
    cpus, memory_mib = host_capacity()
    reserve, ratio = limits(policy, cluster)
    return enforce(capacity(topology, to_start, cpus, memory_mib, reserve, ratio, leaving), policy.force)
