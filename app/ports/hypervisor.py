"""libvirt: the clusters' networks, pools, disks and domains."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ai_how.domain.specs import ClusterPlan, VmPlan


class DomainState(StrEnum):
    RUNNING = "running"
    SHUTOFF = "shutoff"
    PAUSED = "paused"
    STARTING = "starting"  # libvirtd is still starting it (QEMU runs, its CPUs not yet)
    CRASHED = "crashed"
    OTHER = "other"  # blocked, suspended, in transition
    ABSENT = "absent"  # no such domain


@dataclass(frozen=True)


class DomainInfo:
    """A libvirt domain that carries ai-how's metadata."""

    name: str
    state: DomainState
    cluster: str
    role: str
    spec_digest: str


@dataclass


class PrepareReport:
    """What preparing a cluster did on the hypervisor."""

    created: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)  # one sentence per domain unlike its config
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)


class TeardownReport:
    domains: list[str]
    volumes: list[str]
    pool: bool
    network: bool

    @property
    def anything(self) -> bool:
        return bool(self.domains or self.volumes or self.pool or self.network)


@dataclass


class ClusterOnHost:
    """What libvirt holds of a cluster, read without changing anything (for ``plan``)."""

    network: bool
    network_differs: list[str]
    pool: bool
    disks: dict[str, int]  # VM name -> its disk's capacity in bytes
    domains: dict[str, DomainInfo]


class Hypervisor(Protocol):
    """Where VMs run. Implemented by the libvirt adapter."""

    uri: str

    def prepare_cluster(self, plan: ClusterPlan, seeds: dict[str, dict[str, str]] | None = None) -> PrepareReport:
        """Network, storage pool, disks, cloud-init seeds (VM name -> documents) and domain
        definitions; adopts what exists and matches."""

    def start_vm(self, network: dict[str, str], vm: VmPlan, wait_s: float,
                 ready: Callable[[], tuple[bool, str]] | None = None, ready_wait_s: float = 0.0,
                 progress: Callable[[str], None] | None = None) -> str:
        """Define the domain if needed, start it, and wait until it runs; with ``ready``, until
        the guest answers it (a guest that dies while booting is started again on the next
        start profile). Returns the name of the profile it runs on."""

    def shutdown_vm(self, name: str, timeout_s: float) -> str:
        """ACPI shutdown, then force off after ``timeout_s``; returns 'acpi', 'forced' or 'already off'."""

    def domain_state(self, name: str) -> DomainState: ...

    def list_domains(self) -> list[DomainInfo]:
        """Every domain made by ai-how (recognised by its metadata)."""

    def host_capacity(self) -> tuple[int, int]:
        """(CPUs, memory in MiB) of the host, as libvirt's node info reports them."""

    def free_hugepages(self) -> dict[int, int]:
        """Free hugepages by size in KiB (2048, 1048576), over every NUMA node; a size the host
        does not offer is absent."""

    def host_cpu_layout(self) -> dict[int, list[int]]:
        """Each host NUMA node's CPU numbers: where pinned vCPUs can go."""

    def inspect_cluster(self, plan: ClusterPlan) -> ClusterOnHost:
        """The cluster's network, pool, disks and domains as they are; changes nothing."""

    def domain_xml(self, vm: VmPlan) -> str:
        """The domain XML ``vm`` would be defined with (its domain's start profile, when defined)."""

    def redefine_vm(self, vm: VmPlan) -> list[str]:
        """Define the shut-off domain again from ``vm`` and grow its disk to ``disk_gb`` (never
        shrink it); what changed."""

    def remove_domain(self, name: str, cluster: str) -> None:
        """Force the domain off, undefine it and delete its disk from the cluster's pool."""

    def teardown_cluster(self, cluster: str) -> TeardownReport:
        """Undefine the cluster's domains, delete their disks, the pool and the network we made.
        Its shared storage stays: it holds the users' work."""

    def shared_storage(self, cluster: str, host_path: str = "") -> str:
        """The host folder of an HPC cluster's shared storage (``host_path``, else the default
        under the pool root). ``prepare_cluster`` makes it."""
