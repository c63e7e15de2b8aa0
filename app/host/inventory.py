"""What GPUs the host has: NVIDIA display-class functions and their IOMMU-group companions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ai_how.app.ports import PciFunction, PciHost
from ai_how.domain.gpu_models import NVIDIA_VENDOR_ID, model_name


@dataclass(frozen=True)
class HostGpu:
    gpu: PciFunction
    model: str
    companions: tuple[PciFunction, ...]  # every non-bridge function sharing its IOMMU group
    bridges: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self.gpu)
        data.update(model=self.model, companions=[asdict(c) for c in self.companions], bridges=list(self.bridges))
        return data


def is_nvidia_gpu(function: PciFunction) -> bool:
    return function.vendor_id == NVIDIA_VENDOR_ID and function.is_display


def inventory(host: PciHost) -> list[HostGpu]:
    functions = host.functions()
    by_address = {f.address: f for f in functions}
    gpus = []
    for gpu in (f for f in functions if is_nvidia_gpu(f)):
        members = [by_address[a] for a in host.iommu_group(gpu.iommu_group)] if gpu.iommu_group is not None else []
        members = [m for m in members if m is not None]
        companions = tuple(m for m in members if m.address != gpu.address and not m.is_bridge)
        bridges = tuple(m.address for m in members if m.is_bridge)
        gpus.append(HostGpu(gpu, model_name(gpu.vendor_id, gpu.device_id), companions, bridges))
    return gpus
