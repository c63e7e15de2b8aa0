"""The host's PCI devices and their drivers (sysfs, VFIO)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


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

    def cpu_flags(self) -> frozenset[str]:
        """The CPU's feature flags, as /proc/cpuinfo writes them (vmx, avx2, sse4_1...)."""

    def kvm_nested(self) -> bool | None:
        """Does the loaded KVM module (kvm_intel or kvm_amd) let guests run VMs? None: none loaded."""

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
