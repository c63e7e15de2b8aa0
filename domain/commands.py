"""Commands: imperative requests the bus sends to exactly one handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .specs import ClusterPlan


class Command:
    """Marker base class for everything the bus accepts."""


# What the VMs may take of the host when neither the command nor the cluster's last start
# says: its memory less this much (GB) for the host itself, this many vCPUs per host CPU.
DEFAULT_RESERVE_GB = 2.0
DEFAULT_VCPU_RATIO = 4.0


@dataclass(frozen=True)
class CapacityPolicy:
    """How a start is held to the host's capacity. A limit left None is the one the VM's
    cluster was last started with from its config, else the default."""

    reserve_gb: float | None = None
    max_vcpu_ratio: float | None = None
    force: bool = False  # start over the limits; the decision and its snapshot are recorded


@dataclass(frozen=True)
class JobPolicy:
    """What a stop does about SLURM jobs on the nodes it stops: refuse and name them
    (``refuse``), drain the nodes and wait for the jobs up to ``timeout_s`` (``drain``), or
    drain, requeue what can be requeued and stop (``force``)."""

    mode: str = "refuse"
    timeout_s: float = 600.0


@dataclass(frozen=True)
class ProvisionCluster(Command):
    """Record a configured cluster, its VMs and its GPUs in the store (idempotent)."""

    plan: ClusterPlan
    changed_ok: bool = False  # a changed config was redefined (what runs keeps its spec until stopped)


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
    capacity: CapacityPolicy = CapacityPolicy()


@dataclass(frozen=True)
class MarkVmStarted(Command):
    """``ready``: the guest also answered SSH (``GuestReady`` is recorded with ``VmStarted``)."""

    vm: str
    observed: bool = False
    ready: tuple[str, str, float] | None = None  # (address, start profile, seconds to ready)


@dataclass(frozen=True)
class MarkVmStartFailed(Command):
    """Record the failed start and give back the VM's GPUs, in one save."""

    vm: str
    error: str


@dataclass(frozen=True)
class StopVms(Command):
    vms: tuple[str, ...]
    timeout: float = 60.0
    drain: bool = True  # a Kubernetes node is drained first (False: --force)
    jobs: JobPolicy = JobPolicy()


@dataclass(frozen=True)
class MarkVmStopped(Command):
    vm: str
    reason: str = "requested"
    restart: bool = False


@dataclass(frozen=True)
class MoveGpu(Command):
    """Hand ``pci_address`` to ``target``: drain and stop its holder, start the target."""

    pci_address: str
    target: str
    source: str | None = None  # --from: refused unless this VM holds it
    drain_timeout_s: float = 600.0
    force: bool = False  # requeue the holder's SLURM jobs; stop a Kubernetes node undrained
    stop_timeout_s: float = 60.0


@dataclass(frozen=True)
class RestartVm(Command):
    vm: str
    timeout: float = 60.0
    jobs: JobPolicy = JobPolicy()


@dataclass(frozen=True)
class StartCluster(Command):
    plan: ClusterPlan
    rollback_timeout: float = 10.0
    capacity: CapacityPolicy = CapacityPolicy()
    redefine: bool = False  # apply a changed config to its shut-off VMs first
    snapshot_keep: int | None = None  # a snapshot before a redefinition changes a VM (global.snapshots)


@dataclass(frozen=True)
class RedefineCluster(Command):
    """Apply a changed config to a provisioned cluster's shut-off VMs (``start --redefine``)."""

    plan: ClusterPlan
    snapshot_keep: int | None = None


@dataclass(frozen=True)
class StopCluster(Command):
    name: str
    timeout: float = 60.0
    drain: bool = True
    jobs: JobPolicy = JobPolicy()


@dataclass(frozen=True)
class DestroyCluster(Command):
    name: str
    timeout: float = 60.0
    jobs: JobPolicy = JobPolicy()


@dataclass(frozen=True)
class Reconcile(Command):
    """Bring the log back to what libvirt shows: record what happened behind the tool's back."""

    vms: tuple[str, ...] = ()  # empty: every VM in the store
    moves: bool = False  # also settle GPU moves whose process is gone (``ai-how reconcile``)


@dataclass(frozen=True)
class AdoptOrphans(Command):
    """Record the clusters of ``plans`` whose domains exist in libvirt but not in the store."""

    plans: tuple[ClusterPlan, ...]


@dataclass(frozen=True)
class RemoveOrphans(Command):
    """Stop and remove domains made by ai-how that the store does not know, with their disks."""


@dataclass(frozen=True)
class StartSystem(Command):
    """HPC first, then Cloud; if Cloud fails, what this command started on HPC is stopped again."""

    plans: tuple[ClusterPlan, ...]
    capacity: CapacityPolicy = CapacityPolicy()  # both clusters' starts together, checked before either


@dataclass(frozen=True)
class StopSystem(Command):
    """Cloud first, then HPC."""

    names: tuple[str, ...]
    timeout: float = 60.0
    jobs: JobPolicy = JobPolicy()


@dataclass(frozen=True)
class DestroySystem(Command):
    names: tuple[str, ...]
    timeout: float = 60.0
    jobs: JobPolicy = JobPolicy()


@dataclass(frozen=True)
class RecordVfioBinding(Command):
    """The card's functions are on vfio-pci now; ``originals`` are the drivers they had."""

    pci_address: str
    originals: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class RecordBackOnHost(Command):
    """The card's functions are back on their host drivers."""

    pci_address: str


@dataclass(frozen=True)
class BuildImage(Command):
    """Build the golden image ``name`` for ``suite``, unless an image of the same recipe exists."""

    name: str
    suite: str
    force: bool = False
    builder: str = "mmdebstrap"  # or "packer"


@dataclass(frozen=True)
class DeployCluster(Command):
    """Configure a running cluster's services with its playbook (SLURM on HPC).

    ``settings`` are the config's section for it (``slurm_config``), as plain data.
    """

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    limit: str | None = None  # one VM of the cluster
    check: bool = False  # Ansible's check mode: report what would change, change nothing
    full: bool = False  # every task on every node, even where the quick check finds nothing to do
    snapshot_keep: int | None = None  # a snapshot before a deploy that changes something (global.snapshots)


@dataclass(frozen=True)
class MarkClusterDeployed(Command):
    name: str
    run_id: str
    seconds: float
    hosts: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]  # host -> (count name, count)


@dataclass(frozen=True)
class MarkClusterDeployFailed(Command):
    name: str
    run_id: str
    host: str
    task: str
    message: str
    seconds: float
    hosts: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()


@dataclass(frozen=True)
class DeployKubernetes(Command):
    """Kubernetes on the running Cloud cluster by Kubespray, then its add-ons.

    ``settings``: the config's ``kubernetes_config`` and nodes as plain data; ``addons``: each
    enabled add-on's variables (secrets only as file paths); ``kubespray``: the checkout.
    """

    name: str
    kubespray: str
    settings: dict[str, Any] = field(default_factory=dict)
    addons: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MarkKubernetesDeployed(Command):
    name: str
    run_id: str
    kube_version: str
    nodes: tuple[str, ...]
    kubeconfig: str
    seconds: float
    hosts: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()


@dataclass(frozen=True)
class MarkKubernetesDeployFailed(MarkClusterDeployFailed):
    """The same record of a failed run, of Kubespray's deploy."""


@dataclass(frozen=True)
class JoinNode(Command):
    """A running Cloud worker that is not a Kubernetes node yet joins (Kubespray's scale.yml)."""

    name: str
    vm: str



@dataclass(frozen=True)
class DeployModel(Command):
    """Serve a model on the Cloud cluster: ``spec`` as ``app/serving`` makes it (storage URI,
    format, resources, replicas, GPUs), applied as a KServe InferenceService."""

    cluster: str
    namespace: str
    name: str
    spec: dict[str, Any] = field(default_factory=dict)
    wait_s: float = 0.0
    dry_run: bool = False


@dataclass(frozen=True)
class ObserveModel(Command):
    """Ask the cluster how an inference service is doing, and record what changed."""

    namespace: str
    name: str


@dataclass(frozen=True)
class DeleteModel(Command):
    namespace: str
    name: str


@dataclass(frozen=True)
class PushModel(Command):
    """Upload a model's files to the S3 store and register them as a version in MLflow.

    ``access`` is the S3 endpoint and its credentials (an ``S3Access``): it reaches the
    handler and nothing that is recorded."""

    path: str
    name: str
    alias: str | None
    bucket: str
    tracking_uri: str
    access: Any = field(repr=False, default=None)
    origin: str | None = None  # hpc:CLUSTER:PATH when read from the HPC cluster's shared storage
    job: str | None = None  # the SLURM job that wrote the files
