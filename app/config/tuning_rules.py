"""What ``hardware.acceleration`` asks of each VM, checked before anything is made: a CPU topology
that gives the VM's vCPUs, memory that is whole hugepages, NUMA cells that cover the VM's vCPUs
and memory, and CPU features libvirt knows."""

from __future__ import annotations

from ai_how.domain.specs import page_name

from .cpu_feature_names import X86_FEATURES
from .findings import Finding
from .plan import PlannedCluster


def check_tuning(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    _cpu_topology(clusters, out)
    _hugepages(clusters, out)
    _numa_cells(clusters, out)
    _cpu_features(clusters, out)


def _cpu_topology(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    """A VM's own topology gives its vCPUs; the cluster's shape divides each VM's vCPUs."""
    for cluster in clusters:
        hardware = cluster.section.hardware
        shape = hardware.acceleration.cpu_topology if hardware and hardware.acceleration else None
        for vm in cluster.vms:
            cpus, own = vm.config.cpu_cores, vm.config.cpu_topology
            if own is not None:
                if own.sockets * own.cores * own.threads != cpus:
                    out.append(Finding("error", f"{vm.path}.cpu_topology", f"{own.sockets} socket(s) × {own.cores} "
                                       f"cores × {own.threads} thread(s) is {own.sockets * own.cores * own.threads} "
                                       f"vCPUs, but {vm.name} has cpu_cores {cpus}; make them agree"))
                continue
            if shape is None:
                continue
            per_core = shape.sockets * shape.threads
            if cpus % per_core:
                fits = sorted({max(per_core, cpus // per_core * per_core), (cpus // per_core + 1) * per_core})
                out.append(Finding("error", f"{vm.path}.cpu_cores", f"{vm.name} has {cpus} vCPUs, which do not divide "
                                   f"into the cluster's {shape.sockets} socket(s) × {shape.threads} thread(s) per core "
                                   f"({cluster.path}.hardware.acceleration.cpu_topology): give it cpu_cores "
                                   f"{' or '.join(map(str, fits))}, or a cpu_topology of its own"))


def _hugepages(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    """Memory backed by hugepages is a whole number of them."""
    for cluster in clusters:
        for vm in cluster.vms:
            page = vm.plan.spec.hugepages_kib
            if page and (vm.config.memory_gb * 1024 * 1024) % page:
                out.append(Finding("error", f"{vm.path}.memory_gb", f"{vm.name}'s {vm.config.memory_gb:g} GiB is not a "
                                   f"whole number of {page_name(page)} hugepages ({cluster.path}.hardware.acceleration.performance."
                                   "hugepage_size): give a multiple of it"))


def _cpus_of(cells: str) -> list[int]:
    cpus: list[int] = []
    for part in cells.split(","):
        first, _, last = part.partition("-")
        cpus += range(int(first), int(last or first) + 1)
    return cpus


def _numa_cells(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    """Cells written for the cluster fit each VM: every vCPU in exactly one cell, the memory
    summed to the VM's."""
    for cluster in clusters:
        hardware = cluster.section.hardware
        cells = hardware.acceleration.numa_topology if hardware and hardware.acceleration else None
        if not cells:
            continue
        cpus = [c for cell in cells for c in _cpus_of(cell.cpus)]
        memory = sum(cell.memory_gb for cell in cells)
        path = f"{cluster.path}.hardware.acceleration.numa_topology"
        if len(cpus) != len(set(cpus)):
            out.append(Finding("error", path, "a vCPU is in two cells: give each vCPU to one cell"))
            continue
        for vm in cluster.vms:
            if sorted(cpus) != list(range(vm.config.cpu_cores)) or abs(memory - vm.config.memory_gb) > 1e-9:
                out.append(Finding("error", path, f"the cells give vCPUs {','.join(c.cpus for c in cells)} and "
                                   f"{memory:g} GiB, but {vm.name} has {vm.config.cpu_cores} vCPUs and "
                                   f"{vm.config.memory_gb:g} GiB: make them agree, or null (one node)"))


def _cpu_features(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    for cluster in clusters:
        hardware = cluster.section.hardware
        wanted = hardware.acceleration.cpu_features if hardware and hardware.acceleration else []
        path = f"{cluster.path}.hardware.acceleration.cpu_features"
        if {"+vmx", "+svm"} <= set(wanted):
            out.append(Finding("warning", path, "+vmx and +svm: no CPU has both (Intel's and AMD's virtualisation); "
                               "the one this host's CPU lacks is left out at each start"))
        for i, feature in enumerate(wanted):
            if feature[1:] not in X86_FEATURES:
                out.append(Finding("error", f"{path}[{i}]",
                                   f"{feature[1:]!r} is not a CPU feature libvirt knows (e.g. avx2, vmx, svm, pdpe1gb); "
                                   "fix or remove it"))
