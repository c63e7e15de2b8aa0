"""Value objects that commands carry and events record (as plain dicts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class VmSpec:
    cpu_cores: int
    memory_gb: int
    disk_gb: int
    ip: str | None
    auto_start: bool = True
    base_image_path: str | None = None
    gpus: tuple[str, ...] = ()  # slot addresses (function 0) of the cards this VM uses
    devices: tuple[DeviceFunction, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["gpus"] = list(self.gpus)
        data["devices"] = [asdict(d) for d in self.devices]
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
        )


@dataclass(frozen=True)
class VmPlan:
    name: str
    cluster: str
    role: str
    spec: VmSpec


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
