"""A fake sysfs tree laid out like the kernel's, and a fake kernel that reacts to writes.

The tree has what the real adapter reads: ``bus/pci/devices/<bdf>`` as relative symlinks into
``devices/pci0000:00/...``, ``iommu_group`` links, ``kernel/iommu_groups/N/devices``, driver
links and the ``bind``/``unbind``/``drivers_probe``/``driver_override`` files. ``FakeKernel``
is the real ``SysfsPciHost`` whose writes are answered as the kernel would, with fault switches.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ai_how.adapters.sysfs import SysfsPciHost


@dataclass
class FakeDevice:
    address: str
    vendor: str
    device: str
    klass: str  # 030000 VGA, 030200 3D, 040300 audio, 060400 bridge
    driver: str | None
    group: int
    numa_node: int = 0
    reset_method: str = "flr bus"
    boot_vga: bool = False
    sriov_numvfs: int = 0


GPU_CARD = [  # a GPU and its audio function behind one root port, as on a workstation
    FakeDevice("0000:00:01.0", "8086", "1901", "060400", "pcieport", 12),
    FakeDevice("0000:01:00.0", "10de", "2684", "030000", "nvidia", 12),
    FakeDevice("0000:01:00.1", "10de", "22ba", "040300", "snd_hda_intel", 12),
]
SECOND_CARD = [
    FakeDevice("0000:41:00.0", "10de", "2230", "030000", "nvidia", 30),
    FakeDevice("0000:41:00.1", "10de", "1aef", "040300", "snd_hda_intel", 30),
]
EXAMPLE_HOST = GPU_CARD + SECOND_CARD + [
    FakeDevice("0000:81:00.0", "10de", "2230", "030000", "nvidia", 40),
    FakeDevice("0000:82:00.0", "10de", "2230", "030000", "nvidia", 41),
    FakeDevice("0000:0a:00.0", "10de", "1234", "030000", "nvidia", 50),
]
DRIVERS = ("nvidia", "nouveau", "snd_hda_intel", "vfio-pci", "pcieport")


def build_tree(root: Path, devices: list[FakeDevice], iommu: bool = True, vfio: bool = True,
               kvm: bool = True, cpu: str = "GenuineIntel", cmdline: str = "BOOT_IMAGE=/vmlinuz ro quiet") -> Path:
    sys = root / "sys"
    for driver in DRIVERS:
        folder = sys / "bus/pci/drivers" / driver
        if driver == "vfio-pci" and not vfio:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("bind", "unbind", "new_id"):
            (folder / name).write_text("")
    (sys / "bus/pci/drivers_probe").write_text("")
    (sys / "bus/pci/devices").mkdir(parents=True, exist_ok=True)
    (sys / "kernel/iommu_groups").mkdir(parents=True, exist_ok=True)
    if vfio:
        (sys / "module/vfio_pci").mkdir(parents=True, exist_ok=True)
    for d in devices:
        real = sys / "devices/pci0000:00" / d.address
        real.mkdir(parents=True, exist_ok=True)
        for name, value in (("vendor", f"0x{d.vendor}"), ("device", f"0x{d.device}"), ("class", f"0x{d.klass}"),
                            ("numa_node", str(d.numa_node)), ("reset_method", d.reset_method),
                            ("boot_vga", "1" if d.boot_vga else "0"), ("driver_override", "(null)"),
                            ("sriov_numvfs", str(d.sriov_numvfs)), ("sriov_totalvfs", str(d.sriov_numvfs))):
            (real / name).write_text(value + "\n")
        os.symlink(f"../../../devices/pci0000:00/{d.address}", sys / "bus/pci/devices" / d.address)
        if iommu:
            group = sys / f"kernel/iommu_groups/{d.group}/devices"
            group.mkdir(parents=True, exist_ok=True)
            os.symlink(f"../../../../devices/pci0000:00/{d.address}", group / d.address)
            os.symlink(f"../../../kernel/iommu_groups/{d.group}", real / "iommu_group")
        if d.driver:
            os.symlink(f"../../../bus/pci/drivers/{d.driver}", real / "driver")
    (root / "proc").mkdir(exist_ok=True)
    (root / "proc/cmdline").write_text(cmdline + "\n")
    (root / "proc/cpuinfo").write_text(f"vendor_id\t: {cpu}\n")
    (root / "dev").mkdir(exist_ok=True)
    if kvm:
        (root / "dev/kvm").write_text("")
    return root


@dataclass
class Faults:
    bind_fails: set[str] = field(default_factory=set)  # drivers_probe leaves these without vfio-pci
    unbind_hangs: set[str] = field(default_factory=set)
    busy: set[str] = field(default_factory=set)  # unbind answers EBUSY


class FakeKernel(SysfsPciHost):
    """The real adapter; its writes are answered as the kernel would answer them."""

    def __init__(self, root: Path, faults: Faults | None = None, write_timeout_s: float = 10.0) -> None:
        """The real adapter's deadline by default: a busy CI host once took over 0.5 s for a fake write."""
        super().__init__(root, write_timeout_s)
        self.faults = faults or Faults()
        self.defaults = {d.name: self._link_name(d / "driver") for d in self.devices.iterdir()}

    def _set_driver(self, address: str, driver: str | None) -> None:
        link = (self.devices / address).resolve() / "driver"
        if link.is_symlink():
            link.unlink()
        if driver:
            os.symlink(f"../../../bus/pci/drivers/{driver}", link)

    def _raw_write(self, path: Path, value: str) -> None:
        super()._raw_write(path, value)
        self._react(path, value)

    def _react(self, path: Path, value: str) -> None:
        text = value.strip()
        if path.name == "driver_override":
            path.write_text((text or "(null)") + "\n")
        elif path.name == "unbind":
            if text in self.faults.unbind_hangs:
                time.sleep(self.write_timeout_s * 4)
            if text in self.faults.busy:
                raise OSError(16, "Device or resource busy")
            self._set_driver(text, None)
        elif path.name == "drivers_probe":
            override = (self.devices / text / "driver_override").read_text().strip()
            wanted = override if override != "(null)" else self.defaults.get(text)
            if wanted == "vfio-pci" and text in self.faults.bind_fails:
                raise OSError(22, "Invalid argument")
            self._set_driver(text, wanted)
        elif path.name == "bind":
            self._set_driver(text, path.parent.name)
