"""``ai-how host check``: is this machine ready to pass its GPUs through? Each failure says
how to fix it. ``validate`` stays independent of the host; this is where config meets machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ai_how.app.ports import PciFunction, PciHost

from .inventory import inventory

if TYPE_CHECKING:
    from ai_how.app.config.plan import PlannedCluster

Status = Literal["pass", "warn", "fail"]
KNOWN_HOST_DRIVERS = {"nvidia", "vfio-pci", "snd_hda_intel", "xhci_hcd", "nvidia-nvswitch", "ucsi_ccg", "i2c-nvidia-gpu",
                      "pcieport", "nvidia_vgpu_vfio"}


@dataclass(frozen=True)
class Check:
    status: Status
    subject: str
    message: str
    fix: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return self.__dict__.copy()


def _iommu(host: PciHost) -> Check:
    if host.iommu_enabled():
        return Check("pass", "IOMMU", "enabled: the kernel has IOMMU groups")
    vendor = host.cpu_vendor()
    params = {"intel": "intel_iommu=on iommu=pt", "amd": "amd_iommu=on iommu=pt"}.get(
        vendor, "intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD)")
    return Check("fail", "IOMMU", "not enabled: the kernel has no IOMMU groups",
                 f"enable VT-d/AMD-Vi in the firmware, add '{params}' to GRUB_CMDLINE_LINUX in /etc/default/grub, "
                 "run 'update-grub' and reboot")


def _vfio(host: PciHost) -> Check:
    if host.vfio_available():
        return Check("pass", "vfio-pci", "the vfio-pci driver is loaded")
    return Check("fail", "vfio-pci", "the vfio-pci driver is not loaded",
                 "run 'modprobe vfio-pci' and add 'vfio-pci' to /etc/modules-load.d/vfio.conf")


def _kvm(host: PciHost) -> Check:
    if host.kvm_usable():
        return Check("pass", "KVM", "/dev/kvm is usable")
    return Check("fail", "KVM", "/dev/kvm is missing or not usable by this user",
                 "enable virtualization (VT-x/AMD-V) in the firmware, 'modprobe kvm_intel' or 'modprobe kvm_amd', "
                 "and add your user to the kvm group")


def _function_checks(f: PciFunction, users: list[tuple[int, str, str]]) -> list[Check]:
    subject = f.address
    checks = []
    if f.driver == "nouveau":
        checks.append(Check("fail", subject, "is bound to nouveau, which does not let go of the card",
                            "blacklist it: echo 'blacklist nouveau' > /etc/modprobe.d/blacklist-nouveau.conf; "
                            "update-initramfs -u; reboot"))
    elif f.driver is not None and f.driver not in KNOWN_HOST_DRIVERS:
        checks.append(Check("warn", subject, f"is bound to an unexpected driver '{f.driver}'",
                            "check that nothing on the host needs it before passing it through"))
    if f.sriov_num_vfs:
        checks.append(Check("fail", subject, f"has {f.sriov_num_vfs} SR-IOV virtual functions enabled",
                            f"disable them first: echo 0 > /sys/bus/pci/devices/{f.address}/sriov_numvfs"))
    if f.is_display and f.boot_vga:
        checks.append(Check("warn", subject, "drives the host console (boot_vga)",
                            "passing it through blanks the host's screen: use another card for the console or "
                            "run the host headless"))
    if f.is_display and not f.reset_methods:
        checks.append(Check("warn", subject, "offers no reset method",
                            "after a VM stops the card may stay unusable until the host reboots"))
    if f.is_display and f.driver == "nvidia" and users:
        who = ", ".join(f"{cmd} (pid {pid}, {path})" for pid, cmd, path in users)
        checks.append(Check("warn", subject, f"host processes hold NVIDIA devices: {who}",
                            "stop them before starting the VM, or the unbind from the nvidia driver will hang"))
    if not checks:
        checks.append(Check("pass", subject, f"ready (driver {f.driver or 'none'})"))
    return checks


def _configured_device_checks(host: PciHost, clusters: list[PlannedCluster], users: list) -> list[Check]:
    checks: list[Check] = []
    for cluster in clusters:
        for vm in cluster.vms:
            mine = {d.pci_address for d in vm.config.passthrough_devices}
            groups_seen: set[int] = set()
            for device in vm.config.passthrough_devices:
                where = f"{vm.name} {device.pci_address}"
                f = host.function(device.pci_address)
                if f is None:
                    checks.append(Check("fail", where, "is not on this host",
                                        "check the address with 'lspci -D' and fix pci_address in the config"))
                    continue
                if (f.vendor_id, f.device_id) != (device.vendor_id, device.device_id):
                    checks.append(Check("fail", where, f"is {f.vendor_id}:{f.device_id} here, the config says "
                                                      f"{device.vendor_id}:{device.device_id}",
                                        "fix vendor_id/device_id, or the address, in the config"))
                if f.iommu_group is None:
                    checks.append(Check("fail", where, "belongs to no IOMMU group", "enable the IOMMU (see above)"))
                elif f.iommu_group not in groups_seen:
                    groups_seen.add(f.iommu_group)
                    if device.iommu_group is not None and device.iommu_group != f.iommu_group:
                        checks.append(Check("warn", where, f"is in IOMMU group {f.iommu_group}, the config says "
                                                          f"{device.iommu_group}", "update iommu_group in the config"))
                    for other in host.iommu_group(f.iommu_group):
                        member = host.function(other)
                        if other in mine or member is None or member.is_bridge:
                            continue
                        checks.append(Check("fail", where,
                                            f"shares IOMMU group {f.iommu_group} with {other} ({member.vendor_id}:"
                                            f"{member.device_id}, driver {member.driver or 'none'}), which {vm.name} "
                                            "does not get: the group is not viable",
                                            f"add {other} to {vm.name}'s pcie_passthrough devices"))
                checks += [Check(c.status, f"{vm.name} {c.subject}", c.message, c.fix)
                           for c in _function_checks(f, users) if c.status != "pass" or device.device_type == "gpu"]
    return checks


def _virtiofsd(clusters: list[PlannedCluster], virtiofsd: str | None) -> list[Check]:
    sharing = [vm.name for c in clusters for vm in c.vms if any(d.from_host for d in vm.plan.spec.shared_directories)]
    if not sharing:
        return []
    if virtiofsd:
        return [Check("pass", "virtiofsd", f"{virtiofsd} shares host directories into {', '.join(sharing)}")]
    return [Check("fail", "virtiofsd", f"{', '.join(sharing)} mount host directories (virtio_fs_mounts, or the "
                  "HPC cluster's shared storage), but virtiofsd is not installed", "apt-get install virtiofsd (Debian 13) or qemu-system-common "
                  "(Debian 12, /usr/lib/qemu/virtiofsd)")]


def host_checks(host: PciHost, clusters: list[PlannedCluster] | None = None,
                virtiofsd: str | None = None) -> list[Check]:
    """``virtiofsd``: where the host's virtiofsd is, if it has one."""
    checks = [_iommu(host), _vfio(host), _kvm(host)]
    users = host.device_users()
    if clusters:
        checks += _configured_device_checks(host, clusters, users)
        checks += _virtiofsd(clusters, virtiofsd)
    else:
        found = inventory(host)
        if not found:
            checks.append(Check("warn", "GPUs", "no NVIDIA GPU on this host"))
        for gpu in found:
            checks += _function_checks(gpu.gpu, users)
    return checks
