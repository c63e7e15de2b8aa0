"""From a parsed config to the clusters, VMs and GPU units the tool will manage.

VM names are ``<cluster>-<role>`` for single VMs and ``<cluster>-<role>-NN`` for numbered ones:
hpc-cluster-controller, hpc-cluster-compute-01, cloud-cluster-control-plane,
cloud-cluster-cpu-worker-01, cloud-cluster-gpu-worker-01.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ai_how.domain.pci import slot_address
from ai_how.domain.specs import (
    DEFAULT_ADMIN_USER,
    SHARED_TAG,
    Acceleration,
    ClusterPlan,
    DeviceFunction,
    GpuSpec,
    NumaCellSpec,
    SharedDirectory,
    VmPlan,
    VmSpec,
)

from .models import CloudCluster, ClusterBase, ClusterConfig, HpcCluster, PciDevice, VmConfig, WorkerGroups


@dataclass(frozen=True)
class PlannedVm:
    plan: VmPlan
    path: str  # where the VM is declared, e.g. clusters.hpc.compute_nodes[0]
    config: VmConfig

    @property
    def name(self) -> str:
        return self.plan.name


@dataclass(frozen=True)
class PlannedCluster:
    kind: str
    path: str
    section: ClusterBase
    plan: ClusterPlan
    vms: tuple[PlannedVm, ...]

    @property
    def name(self) -> str:
        return self.plan.name


def _function(device: PciDevice) -> DeviceFunction:
    return DeviceFunction(device.pci_address, device.device_type, device.vendor_id,
                          device.device_id, device.iommu_group)


def gpu_units(devices: list[PciDevice]) -> tuple[GpuSpec, ...]:
    """Group a VM's passthrough functions by card: the card, not the function, is leased."""
    by_slot: dict[str, list[DeviceFunction]] = defaultdict(list)
    for device in devices:
        by_slot[slot_address(device.pci_address)].append(_function(device))
    return tuple(GpuSpec(slot, tuple(sorted(funcs, key=lambda f: f.pci_address)))
                 for slot, funcs in sorted(by_slot.items()))


def vm_topology(cluster: ClusterBase, config: VmConfig) -> tuple[int, int, int] | None:
    """(sockets, cores, threads) of the VM: its own ``cpu_topology`` as written, or the cluster's
    as a shape (sockets and threads kept, cores = vCPUs ÷ (sockets × threads); None where that
    does not divide, which validation reports)."""
    if config.cpu_topology is not None:
        own = config.cpu_topology
        return own.sockets, own.cores, own.threads
    wanted = cluster.hardware.acceleration if cluster.hardware is not None else None
    shape = wanted.cpu_topology if wanted is not None else None
    if shape is None or config.cpu_cores % (shape.sockets * shape.threads):
        return None
    return shape.sockets, config.cpu_cores // (shape.sockets * shape.threads), shape.threads


PAGE_KIB = {"2M": 2048, "1G": 1048576}


def hugepages_kib(cluster: ClusterBase) -> int | None:
    """The hugepage size (KiB) that backs the cluster's VMs' memory, if it asks for hugepages."""
    wanted = cluster.hardware.acceleration if cluster.hardware is not None else None
    if wanted is None:
        return None
    perf = wanted.performance
    return PAGE_KIB[perf.hugepage_size] if perf.enable_hugepages or perf.memory_backing == "hugepages" else None


def _acceleration(cluster: ClusterBase, config: VmConfig) -> Acceleration | None:
    wanted = cluster.hardware.acceleration if cluster.hardware is not None else None
    topology = vm_topology(cluster, config)
    if wanted is None and topology is None:
        return None
    sockets, cores, threads = topology or (None, None, None)
    return Acceleration(enable_kvm=wanted.enable_kvm if wanted else True, cpu_model=wanted.cpu_model if wanted else None,
                        sockets=sockets, cores=cores, threads=threads,
                        features=tuple(wanted.cpu_features) if wanted else (),
                        nested=wanted.enable_nested if wanted else False)


def cpu_pinning(cluster: ClusterBase) -> bool:
    wanted = cluster.hardware.acceleration if cluster.hardware is not None else None
    return wanted is not None and wanted.performance.cpu_pinning


def numa_cells(cluster: ClusterBase) -> tuple[NumaCellSpec, ...]:
    """The guest NUMA nodes the cluster writes (null: automatic, one node, placed by the pins)."""
    wanted = cluster.hardware.acceleration if cluster.hardware is not None else None
    cells = wanted.numa_topology if wanted is not None else None
    return tuple(NumaCellSpec(c.cpus, int(c.memory_gb * 1024 * 1024)) for c in cells or ())


def _shared(cluster: ClusterBase, role: str, has_guest: bool) -> tuple[SharedDirectory, ...]:
    """The HPC cluster's shared storage, for a VM with a guest to mount it: from the host
    (virtiofs), or exported by the controller and mounted from its address (nfs)."""
    shared = cluster.storage.shared if isinstance(cluster, HpcCluster) else None
    if shared is None or not shared.enabled or not has_guest:
        return ()
    if shared.backend == "nfs":
        assert isinstance(cluster, HpcCluster)
        server = "" if role == "controller" else str(cluster.controller.ip or "")
        return (SharedDirectory(SHARED_TAG, "", shared.mount_point, backend="nfs", server=server),)
    return (SharedDirectory(SHARED_TAG, shared.host_path or "", shared.mount_point),)


def _vm(cluster: ClusterBase, role: str, name: str, path: str, config: VmConfig, admin_user: str) -> PlannedVm:
    units = gpu_units(config.passthrough_devices)
    base_image_path = config.base_image_path or (None if config.base_image else cluster.base_image_path)
    has_guest = bool(base_image_path or config.base_image or cluster.base_image)
    spec = VmSpec(
        cpu_cores=config.cpu_cores,
        memory_gb=config.memory_gb,
        disk_gb=config.disk_gb,
        ip=str(config.ip) if config.ip else None,
        auto_start=config.auto_start,
        base_image_path=base_image_path,
        gpus=tuple(u.pci_address for u in units),
        devices=tuple(f for u in units for f in u.functions),
        base_image=None if base_image_path else (config.base_image or cluster.base_image),
        shared_directories=_shared(cluster, role, has_guest) + tuple(
            SharedDirectory(m.tag, m.host_path, m.mount_point, m.readonly, owner=m.owner or "", group=m.group or "",
                            mode=m.mode or "", options=m.options or "") for m in config.virtio_fs_mounts),
        acceleration=_acceleration(cluster, config),
        admin_user=None if admin_user == DEFAULT_ADMIN_USER else admin_user,
        hugepages_kib=hugepages_kib(cluster),
        cpu_pinning=cpu_pinning(cluster),
        numa_cells=numa_cells(cluster),
    )
    return PlannedVm(VmPlan(name, cluster.name, role, spec), path, config)


def _is_gpu_worker(config: VmConfig) -> bool:
    if config.worker_type is not None:
        return config.worker_type == "gpu"
    return any(d.device_type == "gpu" for d in config.passthrough_devices)


def _hpc_vms(c: HpcCluster, path: str, user: str) -> list[PlannedVm]:
    vms = [_vm(c, "controller", f"{c.name}-controller", f"{path}.controller", c.controller, user)]
    vms += [_vm(c, "compute", f"{c.name}-compute-{i + 1:02d}", f"{path}.compute_nodes[{i}]", node, user)
            for i, node in enumerate(c.compute_nodes)]
    return vms


def _cloud_vms(c: CloudCluster, path: str, user: str) -> list[PlannedVm]:
    vms = [_vm(c, "control-plane", f"{c.name}-control-plane", f"{path}.control_plane", c.control_plane, user)]
    if isinstance(c.worker_nodes, WorkerGroups):
        workers = [("cpu-worker", f"{path}.worker_nodes.cpu[{i}]", w) for i, w in enumerate(c.worker_nodes.cpu)]
        workers += [("gpu-worker", f"{path}.worker_nodes.gpu[{i}]", w) for i, w in enumerate(c.worker_nodes.gpu)]
    else:
        workers = [("gpu-worker" if _is_gpu_worker(w) else "cpu-worker", f"{path}.worker_nodes[{i}]", w)
                   for i, w in enumerate(c.worker_nodes)]
    counters: dict[str, int] = defaultdict(int)
    for role, vm_path, worker in workers:
        counters[role] += 1
        vms.append(_vm(c, role, f"{c.name}-{role}-{counters[role]:02d}", vm_path, worker, user))
    return vms


def network_of(section: ClusterBase) -> dict[str, str]:
    """The cluster's network as recorded; keys beyond the first three only when set, so that
    the digests of clusters that do not use them stay what they were."""
    net = section.network
    network = {"subnet": str(net.subnet), "bridge": net.bridge, "gateway": str(net.gateway)}
    if net.forward != "nat":
        network["forward"] = net.forward
    if net.dns is not None and net.dns.servers:
        network["dns"] = ",".join(str(s) for s in net.dns.servers)
    if net.dns is not None and net.dns.search:
        network["search"] = ",".join(net.dns.search)
    return network


def plan_digest(network: dict[str, str], vms: list[PlannedVm]) -> str:
    """Fingerprint of what shapes the VMs: opaque sections (slurm_config, mlops...) do not count."""
    shape: dict[str, Any] = {"network": network, "vms": [
        {"name": vm.name, "role": vm.plan.role, "spec": vm.plan.spec.to_dict()} for vm in vms]}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def plan_clusters(config: ClusterConfig) -> list[PlannedCluster]:
    planned = []
    sections: list[tuple[str, Any, Callable[..., list[PlannedVm]]]] = [
        ("hpc", config.clusters.hpc, _hpc_vms), ("cloud", config.clusters.cloud, _cloud_vms)]
    for kind, section, build in sections:
        if section is None:
            continue
        path = f"clusters.{kind}"
        vms = build(section, path, config.global_.admin_user)
        all_devices = [d for vm in vms for d in vm.config.passthrough_devices]
        unique = {d.pci_address: d for d in all_devices}
        network = network_of(section)
        plan = ClusterPlan(
            name=section.name,
            kind=kind,
            config_digest=plan_digest(network, vms),
            network=network,
            vms=tuple(vm.plan for vm in vms),
            gpus=gpu_units(list(unique.values())),
        )
        planned.append(PlannedCluster(kind, path, section, plan, tuple(vms)))
    return planned
