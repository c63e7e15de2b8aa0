"""``cluster.yaml`` as pydantic models.

Unknown keys are errors, so a typo never passes silently; the sections the tool does not
model (the clusters' ``storage``, ``hardware`` beyond acceleration) are kept as opaque data.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    model_validator,
)

from ai_how.domain.commands import DEFAULT_RESERVE_GB, DEFAULT_VCPU_RATIO
from ai_how.domain.pci import HEX_ID_PATTERN, normalize_pci_address

from .addon_models import Mlops, Monitoring, Serving
from .hardware_models import CpuTopology, Hardware
from .kubernetes_models import KubernetesConfig

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$"
BRIDGE_PATTERN = r"^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$"  # Linux interface names: at most 15 bytes

Opaque = dict[str, Any]
PciAddressStr = Annotated[str, AfterValidator(normalize_pci_address)]
HexId = Annotated[str, Field(pattern=HEX_ID_PATTERN), AfterValidator(str.lower)]
# ``${IMAGE:-}`` expands to "", which means "no base image" rather than a path called "".
OptionalPath = Annotated[str | None, BeforeValidator(lambda v: None if v == "" else v)]
DeviceType = Literal["gpu", "audio", "network", "storage", "other"]
IMAGE_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$"
ImageName = Annotated[str, Field(pattern=IMAGE_NAME_PATTERN)]
USER_PATTERN = r"^[a-z_][a-z0-9_-]{0,31}$"
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,35}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PciDevice(Strict):
    pci_address: PciAddressStr
    device_type: DeviceType
    vendor_id: HexId
    device_id: HexId
    iommu_group: Annotated[int, Field(ge=0)] | None = None


class PciePassthrough(Strict):
    enabled: bool = False
    devices: list[PciDevice] = []


class VirtioFsMount(Strict):
    """A host directory shared into the guest (virtiofs), e.g. datasets."""

    tag: Annotated[str, Field(pattern=TAG_PATTERN)]
    host_path: str
    mount_point: str
    readonly: bool = False
    # The predecessor's keys: accepted, not acted on (a warning says so).
    owner: Annotated[str, Field(pattern=USER_PATTERN)] | None = None
    group: Annotated[str, Field(pattern=USER_PATTERN)] | None = None
    mode: Annotated[str, Field(pattern=r"^0?[0-7]{3}$")] | None = None
    options: Annotated[str, Field(pattern=r"^[A-Za-z0-9_=.,-]{1,200}$")] | None = None


class VmConfig(Strict):
    """One VM. The role-specific keys seen in the design documents are accepted everywhere."""

    cpu_cores: Annotated[int, Field(ge=1, le=512)]
    memory_gb: Annotated[float, Field(gt=0, le=4096)]
    disk_gb: Annotated[int, Field(ge=1, le=65536)]
    ip: IPv4Address | None = None
    auto_start: bool = True
    base_image_path: OptionalPath = None
    base_image: ImageName | None = None
    virtio_fs_mounts: list[VirtioFsMount] = []
    cpu_topology: CpuTopology | None = None  # this VM's own, instead of the cluster's shape
    pcie_passthrough: PciePassthrough | None = None
    worker_type: Literal["cpu", "gpu"] | None = None
    kubernetes_role: str | None = None
    high_availability: bool | None = None
    node_labels: dict[str, str] = {}
    node_taints: list[Opaque] = []
    services: list[str] = []
    monitoring: Opaque | None = None

    @model_validator(mode="before")
    @classmethod
    def _ip_address_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and "ip_address" in data:
            if "ip" in data:
                raise ValueError("give either 'ip' or 'ip_address', not both")
            data = dict(data)
            data["ip"] = data.pop("ip_address")
        return data

    @property
    def passthrough_devices(self) -> list[PciDevice]:
        pt = self.pcie_passthrough
        return list(pt.devices) if pt is not None and pt.enabled else []


def _subnet_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("give the subnet as text in CIDR form, like 192.168.100.0/24")
    return value


def _room_for_a_cluster(subnet: IPv4Network) -> IPv4Network:
    if subnet.prefixlen > 29:
        raise ValueError(f"{subnet} is too small for a gateway, a DHCP range and VMs: use /29 or larger, like /24")
    return subnet


Subnet = Annotated[IPv4Network, BeforeValidator(_subnet_text), AfterValidator(_room_for_a_cluster)]


class Dns(Strict):
    servers: list[IPv4Address] = []  # default: the network's gateway (libvirt's dnsmasq)
    search: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9.-]{1,253}$")]] = []


class Network(Strict):
    subnet: Subnet
    bridge: Annotated[str, Field(pattern=BRIDGE_PATTERN)]
    # nat: guests reach out through the host; none: isolated, nothing leaves the host and the
    # bridge's DNS answers only the cluster's own names.
    forward: Literal["nat", "none"] = "nat"
    dns: Dns | None = None

    @property
    def gateway(self) -> IPv4Address:
        """libvirt's NAT network puts the host on the first address of the subnet."""
        return next(iter(self.subnet.hosts()))


class WorkerGroups(Strict):
    cpu: list[VmConfig] = []
    gpu: list[VmConfig] = []


def _worker_shape(value: Any) -> str:
    return "groups-form" if isinstance(value, dict) else "list-form"


WorkerNodes = Annotated[
    Annotated[list[VmConfig], Tag("list-form")] | Annotated[WorkerGroups, Tag("groups-form")],
    Discriminator(_worker_shape),
]
UNION_TAGS = {"list-form", "groups-form", "partition-name", "partition-table"}


class ClusterBase(Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    base_image_path: OptionalPath = None
    base_image: ImageName | None = None
    hardware: Hardware | None = None
    network: Network


# SLURM's time limits: INFINITE/UNLIMITED, minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
SLURM_TIME_PATTERN = r"^(INFINITE|UNLIMITED|\d+|\d+:\d{1,2}(:\d{1,2})?|\d+-\d{1,2}(:\d{1,2}){0,2})$"
SlurmTime = Annotated[str, Field(pattern=SLURM_TIME_PATTERN)]
PARTITION_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
PartitionName = Annotated[str, Field(pattern=PARTITION_PATTERN)]


class SlurmPartition(Strict):
    """A partition. Without ``nodes`` it holds every compute node (``gpu``: the GPU nodes)."""

    name: PartitionName
    nodes: list[Annotated[str, Field(min_length=1)]] | None = None  # VM names, e.g. hpc-cluster-compute-01
    max_time: SlurmTime | None = None  # default: max_job_time


def _partition_shape(value: Any) -> str:
    return "partition-name" if isinstance(value, str) else "partition-table"


PartitionEntry = Annotated[
    Annotated[PartitionName, Tag("partition-name")] | Annotated[SlurmPartition, Tag("partition-table")],
    Discriminator(_partition_shape),
]


class SlurmConfig(Strict):
    partitions: list[PartitionEntry] = []  # default: one partition, 'batch'
    default_partition: PartitionName | None = None  # default: the first
    max_job_time: SlurmTime = "INFINITE"
    accounting: bool = False  # slurmdbd with MariaDB on the controller

    @model_validator(mode="after")
    def _partitions_agree(self) -> SlurmConfig:
        names = [p if isinstance(p, str) else p.name for p in self.partitions]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"partition {', '.join(twice)} is listed more than once")
        if self.default_partition is not None and self.default_partition not in (names or ["batch"]):
            raise ValueError(f"default_partition {self.default_partition!r} is not one of the partitions "
                             f"({', '.join(names or ['batch'])})")
        return self


class SharedStorage(Strict):
    """One folder every node of the HPC cluster mounts read-write at ``mount_point``: jobs'
    output, datasets, trained models. ``virtiofs``: a host directory (``host_path``; default
    ``<pool root>/shared/<cluster>``), which outlives the VMs. ``nfs``: the controller exports
    the folder from its own disk over the cluster's network and the computes mount it (for
    hosts without virtiofsd); its data goes with the controller's disk."""

    enabled: bool = True
    backend: Literal["virtiofs", "nfs"] = "virtiofs"
    host_path: OptionalPath = None
    mount_point: str = "/shared"


class BeeGfs(Strict):
    """The predecessor's BeeGFS (not in Debian): its ``mount_point`` becomes the shared storage's."""

    enabled: bool = False
    mount_point: str = "/mnt/beegfs"
    management_node: str | None = None
    metadata_nodes: list[str] = []
    storage_nodes: list[str] = []
    client_config: Opaque = {}


class VirtioFsSwitch(Strict):
    enabled: bool = True


class HpcStorage(BaseModel):
    """``storage`` of the HPC cluster: ``shared``; the predecessor's ``beegfs`` and ``virtio_fs``;
    other keys are kept as they are."""

    model_config = ConfigDict(extra="allow")
    shared: SharedStorage = SharedStorage()
    beegfs: BeeGfs | None = None
    _shared_from_beegfs: bool = PrivateAttr(default=False)
    virtio_fs: VirtioFsSwitch | None = None

    @model_validator(mode="after")
    def _beegfs_mount_point(self) -> HpcStorage:
        """An enabled BeeGFS without a ``shared`` section: the shared storage takes its place."""
        if self.beegfs is not None and self.beegfs.enabled and "shared" not in self.model_fields_set:
            self.shared = SharedStorage(mount_point=self.beegfs.mount_point)
            self._shared_from_beegfs = True
        return self

    @property
    def shared_from_beegfs(self) -> bool:
        return self._shared_from_beegfs


class HpcCluster(ClusterBase):
    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "hpc-cluster"
    controller: VmConfig
    compute_nodes: list[VmConfig] = []
    slurm_config: SlurmConfig | None = None
    storage: HpcStorage = HpcStorage()


class CloudCluster(ClusterBase):
    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "cloud-cluster"
    control_plane: VmConfig
    worker_nodes: WorkerNodes = []
    kubernetes_config: KubernetesConfig = KubernetesConfig()
    mlops: Mlops = Mlops()
    serving: Serving | None = None
    monitoring: Monitoring = Monitoring()
    storage: Opaque | None = None

    @property
    def serving_config(self) -> Serving:
        """``serving`` here, or under ``mlops`` as the Oumi plan writes it."""
        return self.serving or self.mlops.serving or Serving()


class Clusters(Strict):
    hpc: HpcCluster | None = None
    cloud: CloudCluster | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Clusters:
        if self.hpc is None and self.cloud is None:
            raise ValueError("define at least one cluster: 'hpc' or 'cloud'")
        return self


class Metadata(Strict):
    name: str | None = None
    description: str | None = None


class KubesprayRef(Strict):
    path: str | None = None  # a Kubespray checkout (also --kubespray, AI_HOW_KUBESPRAY_DIR)


class SnapshotPolicy(Strict):
    """Snapshots taken automatically before risky changes; the oldest automatic ones beyond
    ``keep`` are deleted (a snapshot someone took by hand never is)."""

    before: list[Literal["redefine", "deploy"]] = []
    keep: Annotated[int, Field(ge=1, le=100)] = 3

    def keep_before(self, change: str) -> int | None:
        """``keep`` when a snapshot is taken before ``change``, else None."""
        return self.keep if change in self.before else None


class GlobalSettings(Strict):
    libvirt_uri: str | None = None
    # What the VMs may take of the host: its memory less this much for the host itself, and
    # this many vCPUs per host CPU (host check reports both sums).
    host_reserve_gb: Annotated[float, Field(ge=0, le=1024)] = DEFAULT_RESERVE_GB
    max_vcpu_ratio: Annotated[float, Field(gt=0, le=64)] = DEFAULT_VCPU_RATIO
    kubespray: KubesprayRef = KubesprayRef()
    admin_user: Annotated[str, Field(pattern=USER_PATTERN)] = "aihow"  # the guests' login, with the platform's key
    snapshots: SnapshotPolicy = SnapshotPolicy()


class ClusterConfig(Strict):
    version: str = "1.0"
    metadata: Metadata = Metadata()
    global_: GlobalSettings = Field(default=GlobalSettings(), alias="global")
    clusters: Clusters


def json_schema() -> dict[str, Any]:
    return ClusterConfig.model_json_schema(by_alias=True)
