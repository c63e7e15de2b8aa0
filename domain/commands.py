"""Commands: imperative requests the bus sends to exactly one handler."""

from __future__ import annotations

from dataclasses import dataclass

from .specs import ClusterPlan


class Command:
    """Marker base class for everything the bus accepts."""


@dataclass(frozen=True)
class ProvisionCluster(Command):
    """Record a configured cluster, its VMs and its GPUs in the store (idempotent)."""

    plan: ClusterPlan


@dataclass(frozen=True)
class LeaseGpus(Command):
    """Lease every card of ``vm``'s spec to it, all or none."""

    vm: str


@dataclass(frozen=True)
class ReleaseGpus(Command):
    """``vm`` gives back ``gpus`` (every card it holds when empty)."""

    vm: str
    gpus: tuple[str, ...] = ()
    reason: str = "requested"
