"""The Gpu aggregate: one card (all functions of one PCI slot), leased to at most one VM."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import GpuLeasedElsewhere, IdentityMismatch, NotTheHolder
from .ids import gpu_id
from .specs import GpuSpec


class Gpu(Aggregate):
    # Declared, not made by ``@event``, so that a type checker knows them (same stored topics).
    class GpuLeased(Aggregate.Event):
        vm: str

    class GpuReleased(Aggregate.Event):
        vm: str
        reason: str

    @staticmethod
    def create_id(pci_address: str, **_: Any) -> UUID:
        return gpu_id(pci_address)

    @classmethod
    def register(cls, spec: GpuSpec) -> Gpu:
        return cls(pci_address=spec.pci_address, functions=spec.to_dict()["functions"])

    @event("GpuRegistered")
    def __init__(self, pci_address: str, functions: list[dict[str, Any]]) -> None:
        self.pci_address = pci_address
        self.functions = functions
        self.holder: str | None = None

    @property
    def function_addresses(self) -> list[str]:
        return [f["pci_address"] for f in self.functions]

    @property
    def ids(self) -> tuple[str, str] | None:
        """vendor:device of function 0, when it was declared."""
        for f in self.functions:
            if f["pci_address"] == self.pci_address:
                return f["vendor_id"], f["device_id"]
        return None

    def check_same_card(self, spec: GpuSpec) -> None:
        """A second config naming this slot must describe the same hardware."""
        known = {f["pci_address"]: (f["vendor_id"], f["device_id"]) for f in self.functions}
        for f in spec.functions:
            seen = known.get(f.pci_address)
            if seen is not None and seen != (f.vendor_id, f.device_id):
                raise IdentityMismatch(
                    f"PCI device {f.pci_address} is recorded as {seen[0]}:{seen[1]} but the "
                    f"config says {f.vendor_id}:{f.device_id}; fix the vendor_id/device_id in the config"
                )

    def lease(self, vm: str) -> None:
        if self.holder == vm:
            return
        if self.holder is not None:
            raise GpuLeasedElsewhere(self.pci_address, self.holder)
        self._leased(vm=vm)

    @event(GpuLeased)
    def _leased(self, vm: str) -> None:
        self.holder = vm

    def release(self, vm: str, reason: str = "requested") -> None:
        if self.holder != vm:
            raise NotTheHolder(self.pci_address, self.holder, vm)
        self._released(vm=vm, reason=reason)

    @event(GpuReleased)
    def _released(self, vm: str, reason: str) -> None:
        self.holder = None

    @property
    def host_drivers(self) -> dict[str, str | None] | None:
        """The drivers its functions had before they went to vfio-pci, while they are there."""
        return getattr(self, "_host_drivers", None)

    def record_vfio_binding(self, originals: dict[str, str | None]) -> None:
        if self.host_drivers is None:
            self._bound_to_vfio(originals=originals)

    @event("GpuBoundToVfio")
    def _bound_to_vfio(self, originals: dict[str, str | None]) -> None:
        self._host_drivers: dict[str, str | None] | None = originals

    def record_back_on_host(self) -> None:
        """Recorded only while free: leased again meanwhile, the card stays on vfio-pci for
        its new holder, and the drivers to give it back to stay recorded."""
        if self.host_drivers is not None and self.holder is None:
            self._returned_to_host(drivers=self.host_drivers)

    @event("GpuReturnedToHost")
    def _returned_to_host(self, drivers: dict[str, str | None]) -> None:
        self._host_drivers = None
