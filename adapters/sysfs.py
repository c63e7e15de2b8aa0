"""The host's PCI devices through sysfs, under a configurable root (tests use a fake tree).

Binding follows the kernel's documented way, as libvirt and driverctl do: write the driver
name to ``driver_override``, unbind from the current driver, then ``drivers_probe``. Never
``new_id``, which would grab every identical card. Every write has a deadline, because an
unbind can hang on a device in use (the writes are made on a helper thread).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import PciFunction, PciHost

VFIO = "vfio-pci"
LOCK_FILE = "run/lock/ai-how-pci.lock"



def cpu_flags_of(cpuinfo: str) -> frozenset[str]:
    """The first CPU's ``flags`` line of /proc/cpuinfo (every CPU of a host has the same)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()

class SysfsError(InfrastructureError):
    """sysfs refused, failed or did not answer in time."""


class _Writer:
    """A daemon thread that makes the sysfs writes, one at a time, so that each write has a
    deadline without a thread of its own. One stuck in the kernel is left behind."""

    def __init__(self, write: Callable[[Path, str], None]) -> None:
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, args=(write,), name="sysfs-writer", daemon=True).start()

    def _run(self, write: Callable[[Path, str], None]) -> None:
        while True:
            path, value, done = self._tasks.get()
            try:
                write(path, value)
                done.put(None)
            except Exception as exc:  # handed to the caller, who raises it
                done.put(exc)

    def write(self, path: Path, value: str, timeout_s: float) -> Exception | None:
        """What the write raised, or None; ``queue.Empty`` if it did not finish in time."""
        done: queue.SimpleQueue = queue.SimpleQueue()
        self._tasks.put((path, value, done))
        return done.get(timeout=timeout_s)


class SysfsPciHost(PciHost):
    def __init__(self, root: Path = Path("/"), write_timeout_s: float = 10.0) -> None:
        self.root = root
        self.write_timeout_s = write_timeout_s
        self.lock_timeout_s = 60.0  # a holder moves a few cards, each write within its deadline
        self._writer: _Writer | None = None
        self.devices = root / "sys/bus/pci/devices"
        self.drivers = root / "sys/bus/pci/drivers"

    # --- reading ---------------------------------------------------------------------------

    def _read(self, path: Path, default: str = "") -> str:
        try:
            return path.read_text().strip()
        except OSError:
            return default

    def _link_name(self, path: Path) -> str | None:
        try:
            return os.path.basename(os.readlink(path))
        except OSError:
            return None

    def function(self, address: str) -> PciFunction | None:
        base = self.devices / address
        if not base.exists():
            return None
        group = self._link_name(base / "iommu_group")
        numa = self._read(base / "numa_node", "-1")
        reset_methods = tuple(self._read(base / "reset_method").split())
        if not reset_methods and (base / "reset").exists():
            reset_methods = ("unspecified",)
        return PciFunction(
            address=address,
            vendor_id=self._read(base / "vendor").removeprefix("0x").lower(),
            device_id=self._read(base / "device").removeprefix("0x").lower(),
            class_code=self._read(base / "class").removeprefix("0x").lower(),
            driver=self._link_name(base / "driver"),
            iommu_group=int(group) if group and group.isdigit() else None,
            numa_node=int(numa) if numa.lstrip("-").isdigit() and int(numa) >= 0 else None,
            reset_methods=reset_methods,
            boot_vga=self._read(base / "boot_vga", "0") == "1",
            sriov_total_vfs=int(self._read(base / "sriov_totalvfs", "0") or 0),
            sriov_num_vfs=int(self._read(base / "sriov_numvfs", "0") or 0),
        )

    def functions(self) -> list[PciFunction]:
        try:
            names = sorted(os.listdir(self.devices))
        except OSError as exc:
            raise SysfsError(f"cannot read {self.devices}: {exc.strerror}") from None
        return [f for f in (self.function(n) for n in names) if f is not None]

    def iommu_group(self, group: int) -> list[str]:
        try:
            return sorted(os.listdir(self.root / f"sys/kernel/iommu_groups/{group}/devices"))
        except OSError:
            return []

    def iommu_enabled(self) -> bool:
        groups = self.root / "sys/kernel/iommu_groups"
        return groups.is_dir() and any(groups.iterdir())

    def kernel_cmdline(self) -> str:
        return self._read(self.root / "proc/cmdline")

    def cpu_vendor(self) -> str:
        text = self._read(self.root / "proc/cpuinfo")
        return "intel" if "GenuineIntel" in text else "amd" if "AuthenticAMD" in text else "unknown"

    def vfio_available(self) -> bool:
        return (self.drivers / VFIO).is_dir() or (self.root / "sys/module/vfio_pci").is_dir()

    def cpu_flags(self) -> frozenset[str]:
        return cpu_flags_of(self._read(self.root / "proc/cpuinfo"))

    def kvm_nested(self) -> bool | None:
        for module in ("kvm_intel", "kvm_amd"):
            value = self._read(self.root / "sys/module" / module / "parameters/nested").strip()
            if value:
                return value in ("Y", "1")
        return None

    def kvm_usable(self) -> bool:
        kvm = self.root / "dev/kvm"
        return kvm.exists() and os.access(kvm, os.R_OK | os.W_OK)

    def device_users(self, prefix: str = "/dev/nvidia") -> list[tuple[int, str, str]]:
        users = []
        proc = self.root / "proc"
        for entry in proc.iterdir() if proc.is_dir() else ():
            if not entry.name.isdigit():
                continue
            try:
                for fd in (entry / "fd").iterdir():
                    target = os.readlink(fd)
                    if target.startswith(prefix):
                        users.append((int(entry.name), self._read(entry / "comm", "?"), target))
                        break
            except OSError:
                continue  # not ours to look at, or gone
        return users

    # --- moving between drivers --------------------------------------------------------------

    def _raw_write(self, path: Path, value: str) -> None:
        """One write to a sysfs file: this is where the kernel answers."""
        with open(path, "w") as handle:
            handle.write(value)

    def _write(self, path: Path, value: str) -> None:
        """Write with a deadline: a hung unbind must not hang the tool."""
        writer = self._writer = self._writer or _Writer(self._raw_write)
        try:
            failure = writer.write(path, value, self.write_timeout_s)
        except queue.Empty:
            self._writer = None  # its thread is stuck in the kernel; the next write gets another
            raise SysfsError(f"writing {value!r} to {path} did not finish within {self.write_timeout_s:g}s; "
                             "the device may be in use by a host process") from None
        if isinstance(failure, OSError):
            raise SysfsError(f"writing {value!r} to {path} failed: {failure.strerror or failure}")
        if failure is not None:
            raise failure

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """An flock on ``run/lock/ai-how-pci.lock`` under the root, shared by every ai-how here."""
        path = self.root / LOCK_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a")
        except OSError as exc:
            raise SysfsError(f"cannot open the host's PCI lock {path}: {exc.strerror}; moving cards between "
                             "drivers needs root") from None
        with handle:
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SysfsError(f"another ai-how has held the host's PCI lock {path} for over "
                                         f"{self.lock_timeout_s:g}s; try again when it is done") from None
                    time.sleep(0.01)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _base(self, address: str) -> Path:
        base = self.devices / address
        if not base.exists():
            raise SysfsError(f"PCI device {address} is not on this host (no {base})")
        return base

    def bind_to_vfio(self, addresses: list[str]) -> dict[str, str | None]:
        """All or none: a failure gives what was moved back to its driver before raising."""
        originals: dict[str, str | None] = {}
        try:
            self._bind_each(addresses, originals)
        except SysfsError:
            try:
                self.restore_drivers(originals)
            except SysfsError as undo:
                raise SysfsError(f"{undo} (while undoing a failed bind)") from None
            raise
        return originals

    def _bind_each(self, addresses: list[str], originals: dict[str, str | None]) -> None:
        for address in addresses:
            base = self._base(address)
            current = self._link_name(base / "driver")
            originals[address] = current
            if current == VFIO:
                continue
            self._write(base / "driver_override", VFIO)
            if current is not None:
                self._write(base / "driver" / "unbind", address)
            self._write(self.root / "sys/bus/pci/drivers_probe", address)
            now = self._link_name(base / "driver")
            if now != VFIO:
                raise SysfsError(f"{address} did not bind to {VFIO} (it is on {now or 'no driver'}); "
                                 "see 'dmesg' for the kernel's reason")

    def restore_drivers(self, originals: dict[str, str | None]) -> None:
        for address, driver in originals.items():
            if driver == VFIO:
                continue
            base = self._base(address)
            if self._read(base / "driver_override", "(null)") not in ("(null)", ""):
                self._write(base / "driver_override", "\n")
            current = self._link_name(base / "driver")
            if current == driver:
                continue
            if current is not None:
                self._write(base / "driver" / "unbind", address)
            if driver is None:
                continue
            self._write(self.root / "sys/bus/pci/drivers_probe", address)
            if self._link_name(base / "driver") != driver:
                self._write(self.drivers / driver / "bind", address)
            if self._link_name(base / "driver") != driver:
                raise SysfsError(f"{address} did not return to {driver}; load its module "
                                 f"('modprobe {driver}') and run 'ai-how reconcile'")
