"""The application's view of the outside world. Adapters implement these Protocols."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from ai_how.domain.specs import ClusterPlan, VmPlan


@dataclass(frozen=True)
class LoggedEvent:
    """One event as it stands in the append-only log."""

    position: int
    timestamp: datetime
    aggregate_type: str
    aggregate_id: UUID
    version: int
    event_type: str
    payload: dict[str, Any]


class EventStore(Protocol):
    def get(self, aggregate_id: UUID) -> Any | None:
        """The aggregate rebuilt from its events, or None if it was never recorded."""

    def read(self, aggregate_id: UUID) -> Any | None:
        """Like ``get``, as fresh, but shared, not copied: only to look at, never to change."""

    def read_graph(self, roots: Iterable[UUID], follow: Callable[[Any], Iterable[UUID]]) -> dict[UUID, Any]:
        """Like ``read`` for ``roots`` and every aggregate ``follow`` reaches from them, in as
        few round trips as this process's cache allows; ids never recorded are left out."""

    def save(self, *aggregates: Any) -> None:
        """Record the aggregates' pending events in one transaction, or none of them."""

    def collect_new_events(self) -> list[Any]:
        """The events saved since the last call, for the bus to dispatch."""

    def discard_new_events(self) -> None: ...

    def read_log(self, start: int = 1, limit: int = 1000, event_types: Sequence[str] = ()) -> list[LoggedEvent]:
        """Events from ``start`` (inclusive) in log order, optionally only of some types."""

    def iter_log(self, start: int = 1, event_types: Sequence[str] = ()) -> Iterator[LoggedEvent]: ...

    def max_position(self) -> int: ...

    def last_recorded_position(self) -> int:
        """The log position of the last event this store saved (0 before its first save)."""

    def close(self) -> None: ...


class DomainState(StrEnum):
    RUNNING = "running"
    SHUTOFF = "shutoff"
    PAUSED = "paused"
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
        """Undefine the cluster's domains, delete their disks, the pool and the network we made."""


class ViewsConflict(Exception):
    """The views stand where a guarded save may not move them from (``position``)."""

    def __init__(self, position: int) -> None:
        self.position = position
        super().__init__(f"the views stand at log position {position}")


class Views(Protocol):
    """Where the topology read model is kept, with the log position it is caught up to."""

    def load(self) -> Any:
        """The ``Topology`` as saved, with its position."""

    def save(self, topology: Any, since: int = 0) -> None:
        """Write the changed rows and the new position in one transaction, only while the views
        stand at ``since`` or later and before the topology's position; ``ViewsConflict`` if not."""

    def replace(self, topology: Any) -> None:
        """Every row and the position in place of the views' own, in one transaction (``audit replay``)."""

    def dump(self) -> dict[str, dict[str, Any]]:
        """Every row of every table, for comparing two builds of the views."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class PciFunction:
    """One PCI function as the host's sysfs describes it."""

    address: str
    vendor_id: str  # 4 hex digits, no 0x
    device_id: str
    class_code: str  # 6 hex digits, e.g. 030000 (VGA), 030200 (3D), 040300 (audio), 060400 (bridge)
    driver: str | None
    iommu_group: int | None
    numa_node: int | None
    reset_methods: tuple[str, ...]  # empty: the function cannot be reset
    boot_vga: bool
    sriov_total_vfs: int
    sriov_num_vfs: int

    @property
    def is_bridge(self) -> bool:
        return self.class_code.startswith("06")

    @property
    def is_display(self) -> bool:
        return self.class_code.startswith("03")


class PciHost(Protocol):
    """The host's PCI devices (sysfs), and moving them between drivers."""

    def functions(self) -> list[PciFunction]: ...

    def function(self, address: str) -> PciFunction | None: ...

    def iommu_group(self, group: int) -> list[str]:
        """The addresses of every function in the group."""

    def iommu_enabled(self) -> bool: ...

    def kernel_cmdline(self) -> str: ...

    def cpu_vendor(self) -> str:
        """'intel', 'amd' or 'unknown'."""

    def vfio_available(self) -> bool: ...

    def kvm_usable(self) -> bool: ...

    def device_users(self, prefix: str = "/dev/nvidia") -> list[tuple[int, str, str]]:
        """(pid, command, path) of processes holding such a device open, as far as we may see."""

    def bind_to_vfio(self, addresses: list[str]) -> dict[str, str | None]:
        """Hand each function to vfio-pci; returns the drivers they had before."""

    def restore_drivers(self, originals: dict[str, str | None]) -> None:
        """Give each function back to the driver it had (None: leave it without one)."""

    def exclusive(self) -> AbstractContextManager[None]:
        """Held, host-wide, while a card's lease is looked at and its drivers moved: so that
        two processes never move one card at cross purposes (one giving it back to its host
        driver just as another, which leased it again, binds it to vfio-pci)."""


@dataclass(frozen=True)
class ImageRecipe:
    """What an image is made of; ``digest`` names it (same recipe, same image)."""

    name: str  # hpc-base, cloud-base
    suite: str  # Debian suite: trixie, bookworm
    packages: tuple[str, ...]  # the role's list (ansible/roles/<name>-packages)
    role_digest: str  # of every file of that role
    builder: str  # the builder's name and version
    digest: str


@dataclass(frozen=True)
class BuiltImage:
    path: str
    sha256: str
    size: int


class ImageBuilder(Protocol):
    """Makes a bootable qcow2 from a recipe (the offline builder, or Packer)."""

    name: str

    @property
    def version(self) -> str:
        """Changes whenever the build steps do: part of every recipe's digest."""

    def check(self) -> None:
        """Raise with the install command when a tool the build needs is missing."""

    def build(self, recipe: ImageRecipe, destination: Path, progress: Callable[[str], None]) -> BuiltImage:
        """Build into a scratch directory and move the image to ``destination`` only when whole."""


class KeyStore(Protocol):
    """The platform's SSH key pair, each VM's host key and the pinned known_hosts (0600)."""

    def platform_key(self) -> tuple[Path, str]:
        """The private key's file and the public key's line."""

    def host_key(self, vm: str) -> tuple[str, str]:
        """The VM's host key, made once: private text (for its seed only) and public line."""

    def pin(self, vm: str, names: list[str]) -> None:
        """known_hosts: ``names`` (the VM's name, its address) have the VM's host key, no other."""

    def forget(self, vm: str) -> None: ...

    @property
    def known_hosts(self) -> Path: ...

    def cluster_secret(self, cluster: str, kind: str, value: str | None = None) -> Path:
        """The file of one of the cluster's secrets (``munge.key``, ``slurmdbd-password``),
        made once, 0600 (``value``: the config's own, replacing what is there); only its path
        ever leaves the key store."""

    def forget_cluster(self, cluster: str) -> None: ...

    def store_kubeconfig(self, cluster: str, text: str) -> Path:
        """``kube/<cluster>.conf`` under the state directory, replaced whole, 0600."""


class GuestAccess(Protocol):
    """Reaching a guest's OS over SSH, checking its pinned host key."""

    def argv(self, user: str, host: str, command: list[str], tty: bool = False) -> list[str]:
        """The command line that runs ``command`` (a shell when empty) on the guest."""

    def answers(self, user: str, host: str, timeout_s: float = 20) -> tuple[bool, str]:
        """One try: (True, '') when the guest accepts the platform key with the pinned host key."""

    def run(self, user: str, host: str, command: list[str], timeout_s: float = 30) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of ``command`` on the guest; 255 when SSH itself failed."""


@dataclass(frozen=True)
class PlaybookRun:
    """One playbook run: ``inventory`` as ansible-inventory reads it, ``extravars`` by file
    (a secret only by its path), ``limit`` one host, ``check`` Ansible's check mode."""

    run_id: str
    cluster: str
    playbook: str  # relative to the ansible/ tree, e.g. playbooks/playbook-hpc.yml
    inventory: dict[str, Any]
    extravars: dict[str, Any]
    limit: str | None = None
    check: bool = False
    # Kubespray's runs: its venv's ansible-playbook, the inventory's group_vars files (by path
    # relative to the inventory, instead of ansible/group_vars) and the checkout's roles.
    binary: str | None = None
    group_vars: dict[str, Any] | None = None
    roles_paths: tuple[str, ...] = ()


@dataclass
class HostTally:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"ok": self.ok, "changed": self.changed, "failed": self.failed, "unreachable": self.unreachable,
                "skipped": self.skipped}


@dataclass(frozen=True)
class PlaybookFailure:
    host: str
    task: str
    message: str


@dataclass
class PlaybookOutcome:
    run_id: str
    status: str  # successful, failed, timeout, canceled
    rc: int
    seconds: float
    hosts: dict[str, HostTally]
    artifacts: Path
    failure: PlaybookFailure | None = None


class Provisioner(Protocol):
    """Runs the project's playbooks against running guests (ansible-runner)."""

    def check(self) -> None:
        """Raise ``InfrastructureError`` with the install command when the runner is missing."""

    def busy(self, cluster: str) -> bool:
        """Is a run for ``cluster`` in progress in some process right now?"""

    def digest(self, playbook: str) -> str:
        """Of what the playbook's run reads from the ansible/ tree (playbook, roles, config)."""

    def run(self, run: PlaybookRun, on_task: Callable[[str, str, str], None]) -> PlaybookOutcome:
        """Run it, holding the cluster's run lock; ``on_task(host, status, task)`` for every
        host's task result (status: ok, changed, failed, skipped, unreachable)."""


@dataclass(frozen=True)
class NodeState:
    """A Kubernetes node as the API server reports it."""

    name: str
    ready: bool
    unschedulable: bool = False
    gpus: int = 0  # allocatable nvidia.com/gpu
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()  # key=value:Effect


class KubernetesApi(Protocol):
    """The cluster's API server, reached with the admin kubeconfig (the kubernetes client)."""

    def nodes(self, kubeconfig: Path) -> list[NodeState]: ...

    def label_and_taint(self, kubeconfig: Path, node: str, labels: dict[str, str], taints: list[str]) -> None:
        """Set these labels (others stay) and exactly these taints (besides Kubernetes' own)."""

    def cordon(self, kubeconfig: Path, node: str, unschedulable: bool = True) -> None: ...

    def evict(self, kubeconfig: Path, node: str) -> list[str]:
        """Ask every pod on the node to leave (DaemonSets' and static pods stay); the
        ``namespace/name`` of those still there."""

    def pods_on(self, kubeconfig: Path, node: str) -> list[str]:
        """``namespace/name`` of the pods a drain moves (not DaemonSets', not static ones)."""


class BeforeStop(Protocol):
    """What must happen before VMs are shut down (a Kubernetes worker is drained)."""

    def __call__(self, vms: list[str], drain: bool) -> list[str]:
        """Prepare ``vms`` for their stop; notes for the operator. Raises to refuse the stop."""


class ModelServing(Protocol):
    """KServe's InferenceServices on a cluster, reached with its admin kubeconfig."""

    def apply(self, kubeconfig: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create it, or replace the one of that name; the object as the API server keeps it."""

    def get(self, kubeconfig: Path, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list(self, kubeconfig: Path, namespace: str | None = None) -> list[dict[str, Any]]: ...

    def delete(self, kubeconfig: Path, namespace: str, name: str) -> bool:
        """False when there was nothing of that name."""

    def nodes_of(self, kubeconfig: Path, namespace: str, name: str) -> list[str]:
        """The nodes its predictor's pods run on."""


@dataclass(frozen=True)
class RegisteredModel:
    """One version of a model in MLflow's registry."""

    name: str
    version: str
    source: str  # as registered
    storage_uri: str  # where its files are (MLflow's download URI)
    run_id: str | None = None
    alias: str | None = None  # the alias it was found by, or set to
    tags: dict[str, str] = field(default_factory=dict)


class ModelRegistry(Protocol):
    """MLflow's model registry at a tracking URI."""

    def check(self, tracking_uri: str) -> None:
        """Raise (InfrastructureError) unless the registry answers."""

    def resolve(self, tracking_uri: str, name: str, alias: str | None = None,
                version: str | None = None) -> RegisteredModel:
        """The version an alias points to, or the numbered one (UnknownObject if none)."""

    def find(self, tracking_uri: str, name: str, tag: str, value: str) -> RegisteredModel | None:
        """The newest version of ``name`` with that tag's value, if any."""

    def register(self, tracking_uri: str, name: str, source: str, tags: dict[str, str],
                 description: str | None = None) -> RegisteredModel:
        """A new version of ``name`` (created if it is new) whose files are at ``source``."""

    def set_alias(self, tracking_uri: str, name: str, alias: str, version: str) -> None: ...


@dataclass(frozen=True)
class S3Access:
    """An S3 endpoint and its credentials. The secret stays in memory: never printed or recorded."""

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str  # its key under the upload's prefix
    size: int
    sha256: str


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str
    uploaded: bool  # False: the same bytes were there already


class ObjectStore(Protocol):
    """Files into an S3 bucket, each checked after the upload against what was sent."""

    def upload_verified(self, access: S3Access, bucket: str, prefix: str, files: Sequence[LocalFile]) -> list[StoredObject]:
        """Upload each file to ``prefix/key`` (skipping one whose object holds the same bytes),
        then compare every object's size and ETag with the local file's; on a mismatch the bad
        objects are removed and ChecksumMismatch is raised naming them."""
