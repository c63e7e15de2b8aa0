"""Value objects that commands carry and events record (as plain dicts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cpus import Pins


@dataclass(frozen=True)
class DeviceFunction:
    """One PCI function handed to a VM: the GPU itself or a companion (audio, USB-C...)."""

    pci_address: str
    device_type: str
    vendor_id: str
    device_id: str
    iommu_group: int | None = None


@dataclass(frozen=True)
class GpuSpec:
    """A card as the leasing unit: every configured function of one PCI slot."""

    pci_address: str  # function 0 of the slot: the aggregate's natural key
    functions: tuple[DeviceFunction, ...]

    @property
    def primary(self) -> DeviceFunction | None:
        return next((f for f in self.functions if f.pci_address == self.pci_address), None)

    def to_dict(self) -> dict[str, Any]:
        return {"pci_address": self.pci_address, "functions": [asdict(f) for f in self.functions]}


SHARED_TAG = "aihow-shared"  # the HPC cluster's shared storage, mounted on every node


@dataclass(frozen=True)
class SharedDirectory:
    """A folder the guest mounts. ``virtiofs``: a host directory shared into the guest; the
    cluster's shared storage has tag ``SHARED_TAG`` and its ``host_path`` "" is the cluster's
    folder under the pool root, which only the hypervisor's adapter knows. ``nfs`` (the
    cluster's shared storage only): the controller exports ``mount_point`` from its own disk
    (``server`` ""), the computes mount it from ``server``, the controller's address."""

    tag: str
    host_path: str
    mount_point: str
    readonly: bool = False
    backend: str = "virtiofs"
    server: str = ""
    owner: str = ""  # a read-write folder's owner, group and mode in the guest, set at first boot
    group: str = ""
    mode: str = ""
    options: str = ""  # mount options beside ai-how's own

    @property
    def cluster_storage(self) -> bool:
        return self.tag == SHARED_TAG

    def to_dict(self) -> dict[str, Any]:
        """Without the NFS fields where they are the defaults: a virtiofs folder's record (and the
        spec digest of every VM defined before NFS) stays as it was."""
        data = asdict(self)
        for key in ("backend", "server", "owner", "group", "mode", "options"):
            if data[key] == SharedDirectory.__dataclass_fields__[key].default:
                del data[key]
        return data

    @property
    def from_host(self) -> bool:
        """A host directory, shared in by the hypervisor (virtiofs)."""
        return self.backend == "virtiofs"

    @property
    def exported(self) -> bool:
        """This VM serves the folder to the others over NFS."""
        return self.backend == "nfs" and not self.server


def page_name(kib: int) -> str:
    """A hugepage size as people write it: 2 MiB, 1 GiB."""
    return "1 GiB" if kib == 1048576 else "2 MiB" if kib == 2048 else f"{kib} KiB"


@dataclass(frozen=True)
class Acceleration:
    """How the VM's CPU is provided; the defaults let ai-how pick the best start profile."""

    enable_kvm: bool = True
    cpu_model: str | None = None  # host-passthrough, host-model, or a named QEMU model
    sockets: int | None = None
    cores: int | None = None
    threads: int | None = None
    features: tuple[str, ...] = ()  # +flag (required) / -flag (disabled), as the config writes them
    nested: bool = False  # the guest gets the host's vmx or svm

    def to_dict(self) -> dict[str, Any]:
        """Without the keys added later where unset: an older VM's spec digest stays what it was."""
        data = asdict(self)
        data["features"] = list(self.features)
        for key in ("features", "nested"):
            if not data[key]:
                del data[key]
        return data


@dataclass(frozen=True)
class NumaCellSpec:
    """One guest NUMA node: its vCPUs as libvirt writes them (0-3) and its memory."""

    cpus: str
    memory_kib: int


# Keys added after the first release: left out of a spec's dict while unset, so the digests
# of VMs that do not use them stay what they were.
_OPTIONAL = ("base_image", "base_image_sha256", "shared_directories", "acceleration", "admin_user", "hugepages_kib",
             "cpu_pinning", "numa_cells")
DEFAULT_ADMIN_USER = "aihow"


@dataclass(frozen=True)
class VmSpec:
    cpu_cores: int
    memory_gb: float
    disk_gb: int
    ip: str | None
    auto_start: bool = True
    base_image_path: str | None = None
    gpus: tuple[str, ...] = ()  # slot addresses (function 0) of the cards this VM uses
    devices: tuple[DeviceFunction, ...] = field(default=())
    base_image: str | None = None  # a catalogue name (ai-how image build), resolved to base_image_path
    base_image_sha256: str | None = None  # of the image the VM's overlay is made from
    shared_directories: tuple[SharedDirectory, ...] = ()
    acceleration: Acceleration | None = None
    admin_user: str | None = None  # the guest's login (None: DEFAULT_ADMIN_USER)
    hugepages_kib: int | None = None  # memory backed by hugepages of this size (2048, 1048576)
    cpu_pinning: bool = False  # each vCPU on a host CPU of its own, chosen at each start (domain.cpus)
    numa_cells: tuple[NumaCellSpec, ...] = ()  # the guest's NUMA nodes; none: one

    @property
    def login(self) -> str:
        return self.admin_user or DEFAULT_ADMIN_USER

    @property
    def has_os(self) -> bool:
        """Does the VM boot an image (and so a guest to wait for), or a blank disk?"""
        return bool(self.base_image_path)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["gpus"] = list(self.gpus)
        data["devices"] = [asdict(d) for d in self.devices]
        data["shared_directories"] = [d.to_dict() for d in self.shared_directories]
        data["acceleration"] = self.acceleration.to_dict() if self.acceleration else None
        data["numa_cells"] = [asdict(c) for c in self.numa_cells]
        for key in _OPTIONAL:
            if not data[key]:
                del data[key]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VmSpec:
        return cls(
            cpu_cores=data["cpu_cores"],
            memory_gb=data["memory_gb"],
            disk_gb=data["disk_gb"],
            ip=data.get("ip"),
            auto_start=data.get("auto_start", True),
            base_image_path=data.get("base_image_path"),
            gpus=tuple(data.get("gpus", ())),
            devices=tuple(DeviceFunction(**d) for d in data.get("devices", ())),
            base_image=data.get("base_image"),
            base_image_sha256=data.get("base_image_sha256"),
            shared_directories=tuple(SharedDirectory(**d) for d in data.get("shared_directories", ())),
            acceleration=_acceleration(data.get("acceleration")),
            admin_user=data.get("admin_user"),
            hugepages_kib=data.get("hugepages_kib"),
            cpu_pinning=data.get("cpu_pinning", False),
            numa_cells=tuple(NumaCellSpec(**c) for c in data.get("numa_cells", ())),
        )


def _acceleration(data: dict[str, Any] | None) -> Acceleration | None:
    if not data:
        return None
    return Acceleration(**{**data, "features": tuple(data.get("features", ()))})


@dataclass(frozen=True)
class VmPlan:
    name: str
    cluster: str
    role: str
    spec: VmSpec
    pins: Pins | None = None  # where a pinned VM's vCPUs run this start (chosen at start, not configured)


@dataclass(frozen=True)
class VmRecord:
    """A VM as the views hold it, its spec decoded once: what the read side and the deploys
    read instead of the view's row."""

    name: str
    cluster: str
    role: str
    state: str  # as recorded: defined, starting, running, stopping, stopped, destroyed
    spec: VmSpec

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> VmRecord:
        return cls(row["name"], row["cluster"], row["role"], row["state"], VmSpec.from_dict(row["spec"]))

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class ClusterPlan:
    """Everything the store needs to know about one configured cluster."""

    name: str
    kind: str  # "hpc" | "cloud"
    config_digest: str
    network: dict[str, str]
    vms: tuple[VmPlan, ...]
    gpus: tuple[GpuSpec, ...]

    def vm(self, name: str) -> VmPlan:
        return next(v for v in self.vms if v.name == name)
