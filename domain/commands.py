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


@dataclass(frozen=True)
class StartVms(Command):
    """Lease each VM's GPUs and record its start intent, all in one save; then start them."""

    vms: tuple[str, ...]


@dataclass(frozen=True)
class MarkVmStarted(Command):
    vm: str
    observed: bool = False


@dataclass(frozen=True)
class MarkVmStartFailed(Command):
    """Record the failed start and give back the VM's GPUs, in one save."""

    vm: str
    error: str


@dataclass(frozen=True)
class StopVms(Command):
    vms: tuple[str, ...]
    timeout: float = 60.0


@dataclass(frozen=True)
class MarkVmStopped(Command):
    vm: str
    reason: str = "requested"
    restart: bool = False


@dataclass(frozen=True)
class RestartVm(Command):
    vm: str
    timeout: float = 60.0


@dataclass(frozen=True)
class StartCluster(Command):
    plan: ClusterPlan
    rollback_timeout: float = 10.0


@dataclass(frozen=True)
class StopCluster(Command):
    name: str
    timeout: float = 60.0


@dataclass(frozen=True)
class DestroyCluster(Command):
    name: str
    timeout: float = 60.0
