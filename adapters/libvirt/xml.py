"""libvirt XML from the Jinja2 templates in ``ai_how.templates/libvirt``: never by string edits."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from functools import cache
from importlib.resources import files
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from ai_how.domain.cpus import cpu_list, has_flag
from ai_how.domain.ids import mac_address
from ai_how.domain.pci import PciAddress
from ai_how.domain.specs import VmPlan

DEFAULT_POOL_ROOT = "/var/lib/libvirt/images/ai-how"  # qemu:///system's; the adapter passes its own

NAMESPACE = "https://ai-how.dev/xmlns/libvirt/vm/1"
PREFIX = "aihow-"
FIRST_GPU_GUEST_BUS = 0x10
ROLE_TEMPLATES = {
    "controller": "controller.xml.j2",
    "compute": "compute.xml.j2",
    "control-plane": "control-plane.xml.j2",
    "cpu-worker": "worker.xml.j2",
    "gpu-worker": "worker.xml.j2",
}


@cache
def environment() -> Any:
    import jinja2

    folder = str(files("ai_how.templates") / "libvirt")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
                              autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def network_name(cluster: str) -> str:
    return f"{PREFIX}{cluster}"


def pool_name(cluster: str) -> str:
    return f"{PREFIX}{cluster}"


def volume_name(vm: str) -> str:
    return f"{vm}.qcow2"


def seed_name(vm: str) -> str:
    return f"{vm}-seed.iso"


def spec_digest(vm: VmPlan) -> str:
    shape = {"cluster": vm.cluster, "role": vm.role, "spec": vm.spec.to_dict()}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def _cards(vm: VmPlan) -> list[dict[str, Any]]:
    by_slot: dict[str, list[PciAddress]] = defaultdict(list)
    for device in vm.spec.devices:
        address = PciAddress.parse(device.pci_address)
        by_slot[address.slot].append(address)
    cards = []
    for index, (_, functions) in enumerate(sorted(by_slot.items())):
        cards.append({"guest_bus": FIRST_GPU_GUEST_BUS + index, "functions": [
            {"domain": f"{a.domain:04x}", "bus": f"{a.bus:02x}", "slot": f"{a.device:02x}",
             "function": f"{a.function:x}", "guest_function": f"{position:x}"}
            for position, a in enumerate(sorted(functions))]})
    return cards


def _topology(vm: VmPlan) -> dict[str, int] | None:
    a = vm.spec.acceleration
    if a is None or not (a.sockets or a.cores or a.threads):
        return None
    return {"sockets": a.sockets or 1, "cores": a.cores or 1, "threads": a.threads or 1}


QEMU_LOG_DIR = Path("/var/log/libvirt/qemu")  # libvirt's own, for qemu:///system (virtlogd writes it)


def console_log(name: str) -> str:
    """Where a guest's serial console is kept (its last boot): readable after a failed start."""
    return str(QEMU_LOG_DIR / f"{name}-console.log")


def shared_dir(pool_root: str | Path, cluster: str) -> str:
    """Where an HPC cluster's shared storage lives on the host, unless its config says."""
    return str(Path(pool_root) / "shared" / cluster)


NESTED = ("vmx", "svm")  # Intel's and AMD's virtualisation: a guest with either can run VMs


def cpu_features(vm: VmPlan, domain_type: str, cpu_mode: str | None,
                 host_flags: frozenset[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The ``<feature>`` elements the domain gets (sign, name), and what is left out and why: a
    feature this host's CPU lacks (never a start that fails), any under TCG, whose emulated CPU
    has its own, and ``enable_nested`` where the host has neither vmx nor svm."""
    wanted = vm.spec.acceleration
    if wanted is None or not (wanted.features or wanted.nested):
        return [], []
    asked = [(f[0], f[1:]) for f in wanted.features]
    if wanted.nested:
        own = [("+", name) for name in NESTED if has_flag(host_flags, name)]
        asked += own or [("+", "vmx")]
    if domain_type != "kvm" or cpu_mode is None:
        why = "TCG emulates a CPU of its own" if domain_type != "kvm" else "no CPU model to add it to"
        return [], [f"{s}{n} ({why})" for s, n in asked]
    kept = [(s, n) for s, n in asked if s == "-" or has_flag(host_flags, n)]
    return list(dict.fromkeys(kept)), [f"{s}{n} (this host's CPU lacks it)" for s, n in asked if (s, n) not in kept]


def render_domain(vm: VmPlan, disk_path: str, domain_type: str, managed: str = "no",
                  cpu_mode: str | None = None, uuid: str | None = None, seed_path: str | None = None,
                  pool_root: str | Path = DEFAULT_POOL_ROOT, host_flags: frozenset[str] = frozenset()) -> str:
    """``managed="no"``: ai-how binds GPUs to vfio-pci itself, around each lease. ``cpu_mode`` None
    leaves QEMU's default CPU model; 'host-passthrough' and 'host-model' need KVM; any other
    value names a QEMU CPU model. ``uuid`` is given when an existing domain is redefined;
    ``seed_path`` is the VM's cloud-init seed, attached as a CD-ROM."""
    template = environment().get_template(ROLE_TEMPLATES[vm.role])
    return template.render(
        vm=vm, domain_type=domain_type, cpu_mode=cpu_mode, uuid=uuid, namespace=NAMESPACE, spec_digest=spec_digest(vm),
        seed_path=seed_path, topology=_topology(vm), cpu_list=cpu_list,
        features=cpu_features(vm, domain_type, cpu_mode, host_flags)[0],
        memory_kib=int(vm.spec.memory_gb * 1024 * 1024), hugepages_kib=vm.spec.hugepages_kib, disk_path=disk_path, mac=mac_address(vm.name),
        network_name=network_name(vm.cluster), cards=_cards(vm), managed=managed,
        console_log=console_log(vm.name) if vm.spec.has_os else None,
        shares=[(share.host_path or shared_dir(pool_root, vm.cluster), share.tag) for share in vm.spec.shared_directories
                if share.from_host],
    )


def dhcp_range(subnet: IPv4Network) -> tuple[str, str]:
    """The upper half of the subnet's hosts: static addresses usually sit in the lower half."""
    hosts = list(subnet.hosts())
    return str(hosts[len(hosts) // 2]), str(hosts[-1])


def render_network(cluster: str, network: dict[str, str], vms: list[VmPlan]) -> str:
    subnet = IPv4Network(network["subnet"])
    start, end = dhcp_range(subnet)
    hosts = [{"mac": mac_address(vm.name), "name": vm.name, "ip": vm.spec.ip} for vm in vms if vm.spec.ip]
    return environment().get_template("network.xml.j2").render(
        name=network_name(cluster), cluster=cluster, bridge=network["bridge"], gateway=network["gateway"],
        isolated=network.get("forward") == "none",
        netmask=str(subnet.netmask), dhcp_start=start, dhcp_end=end, hosts=hosts)


def render_pool(name: str, path: str) -> str:
    return environment().get_template("pool.xml.j2").render(name=name, path=path)


def render_volume(name: str, capacity_gb: int, backing_path: str | None, backing_format: str | None) -> str:
    return environment().get_template("volume.xml.j2").render(
        name=name, capacity_gb=capacity_gb, backing_path=backing_path, backing_format=backing_format)
