"""Semantic checks of a parsed config: what pydantic's per-field checks cannot see.

``validate`` stays independent of the host; ``host check`` is where the config meets the machine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from ai_how.domain.gpu_models import NVIDIA_VENDOR_ID, model_name
from ai_how.domain.pci import slot_address

from .findings import Finding
from .models import ClusterConfig, PciDevice, WorkerGroups
from .plan import PlannedCluster, PlannedVm, plan_clusters
from .storage_checks import check_shared_directories, check_shared_storage
from .tuning_checks import check_accepted_keys
from .tuning_rules import check_tuning


@dataclass(frozen=True)
class GpuUser:
    cluster: str
    vm: str
    auto_start: bool


@dataclass(frozen=True)
class SharedGpu:
    """A card configured in VMs of both clusters: only one of them can hold it at a time."""

    pci_address: str
    model: str
    users: tuple[GpuUser, ...]

    @property
    def auto_started(self) -> list[GpuUser]:
        return [u for u in self.users if u.auto_start]

    @property
    def collides_at_start(self) -> bool:
        return len(self.auto_started) > 1

    def summary(self) -> str:
        def show(u: GpuUser) -> str:
            return f"{u.vm} ({'auto_start' if u.auto_start else 'auto_start: false'})"
        text = f"GPU {self.pci_address} ({self.model}) is configured in " + " and ".join(show(u) for u in self.users)
        if self.collides_at_start:
            names = " and ".join(u.vm for u in self.auto_started)
            return (f"{text}: {names} both start automatically, so the cluster started second will be "
                    f"refused; set 'auto_start: false' on one of them and start it by hand "
                    f"('ai-how vm start NAME') when the other is stopped")
        idle = [u.vm for u in self.users if not u.auto_start]
        return (f"{text}: only one can run at a time; starting both clusters is safe because "
                f"{', '.join(idle)} stays off until started by hand")


@dataclass
class Report:
    clusters: list[PlannedCluster]
    findings: list[Finding] = field(default_factory=list)
    shared_gpus: list[SharedGpu] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors


def _device_paths(vm: PlannedVm) -> list[tuple[str, PciDevice]]:
    pt = vm.config.pcie_passthrough
    if pt is None or not pt.enabled:
        return []
    return [(f"{vm.path}.pcie_passthrough.devices[{i}]", d) for i, d in enumerate(pt.devices)]


def _check_devices(clusters: list[PlannedCluster], out: list[Finding]) -> None:
    declared: dict[str, tuple[str, tuple[str, str, int | None]]] = {}
    slot_functions: dict[str, set[str]] = defaultdict(set)
    for cluster in clusters:
        seen_in_cluster: dict[str, tuple[str, str]] = {}
        for vm in cluster.vms:
            pt = vm.config.pcie_passthrough
            if pt is not None and pt.enabled and not pt.devices:
                out.append(Finding("warning", f"{vm.path}.pcie_passthrough",
                                   f"passthrough is enabled for {vm.name} but lists no devices"))
            for path, d in _device_paths(vm):
                addr = d.pci_address
                slot_functions[slot_address(addr)].add(addr)
                if addr in seen_in_cluster:
                    other_vm, other_path = seen_in_cluster[addr]
                    whom = "twice to the same VM" if other_vm == vm.name else f"to both {other_vm} and {vm.name}"
                    out.append(Finding("error", f"{path}.pci_address",
                                       f"PCI device {addr} is given {whom} in cluster {cluster.name} "
                                       f"(also at {other_path}); a device can serve one VM of a cluster"))
                else:
                    seen_in_cluster[addr] = (vm.name, path)
                identity = (d.vendor_id, d.device_id, d.iommu_group)
                if addr in declared and declared[addr][1] != identity:
                    first_path, first = declared[addr]
                    differs = [n for n, a, b in zip(("vendor_id", "device_id", "iommu_group"), first, identity)
                               if a != b and a is not None and b is not None]
                    if differs:
                        shown = ", ".join(f"{n} {a} vs {b}" for n, a, b in
                                          zip(("vendor_id", "device_id", "iommu_group"), first, identity) if n in differs)
                        out.append(Finding("error", path,
                                           f"PCI device {addr} is declared with different ids at {first_path} and "
                                           f"{path} ({shown}); one address is one device: make them agree"))
                declared.setdefault(addr, (path, identity))
                if d.device_type == "gpu" and d.vendor_id != NVIDIA_VENDOR_ID:
                    out.append(Finding("warning", f"{path}.vendor_id",
                                       f"GPU {addr} has vendor {d.vendor_id}; ai-how is built for NVIDIA (10de) cards"))
    for cluster in clusters:
        for vm in cluster.vms:
            mine = {d.pci_address for _, d in _device_paths(vm)}
            for slot in sorted({slot_address(a) for a in mine}):
                missing = sorted(slot_functions[slot] - mine)
                if missing:
                    out.append(Finding("error", f"{vm.path}.pcie_passthrough.devices",
                                       f"{vm.name} takes part of card {slot} but not {', '.join(missing)}, which the "
                                       f"config lists elsewhere; all functions of a card go to one VM together: "
                                       f"add them to this VM's devices"))


def _check_networks(config: ClusterConfig, clusters: list[PlannedCluster], out: list[Finding]) -> None:
    ips: dict[IPv4Address, str] = {}
    for cluster in clusters:
        net = cluster.section.network
        reserved = {net.subnet.network_address: "the network address", net.subnet.broadcast_address:
                    "the broadcast address", net.gateway: "the gateway (host) address"}
        for vm in cluster.vms:
            ip = vm.config.ip
            if ip is None:
                continue
            path = f"{vm.path}.ip"
            if ip not in net.subnet:
                out.append(Finding("error", path, f"IP {ip} of {vm.name} is outside its cluster's subnet "
                                                  f"{net.subnet}; pick an address inside it"))
            elif ip in reserved:
                out.append(Finding("error", path, f"IP {ip} of {vm.name} is {reserved[ip]} of {net.subnet}; "
                                                  f"pick another host address"))
            if ip in ips:
                out.append(Finding("error", path, f"IP {ip} of {vm.name} is already used at {ips[ip]}"))
            else:
                ips[ip] = path
    for i, a in enumerate(clusters):
        for b in clusters[i + 1:]:
            na, nb = a.section.network, b.section.network
            if na.subnet.overlaps(nb.subnet):
                out.append(Finding("error", f"{b.path}.network.subnet",
                                   f"subnet {nb.subnet} of {b.name} overlaps {na.subnet} of {a.name} "
                                   f"({a.path}.network.subnet); give each cluster its own range"))
            if na.bridge == nb.bridge:
                out.append(Finding("error", f"{b.path}.network.bridge",
                                   f"bridge {nb.bridge} is used by both {a.name} and {b.name}; "
                                   f"give each cluster its own bridge"))
    cloud = config.clusters.cloud
    if cloud is not None and isinstance(cloud.worker_nodes, WorkerGroups):
        for i, worker in enumerate(cloud.worker_nodes.cpu):
            if worker.worker_type == "gpu" or any(d.device_type == "gpu" for d in worker.passthrough_devices):
                out.append(Finding("warning", f"clusters.cloud.worker_nodes.cpu[{i}]",
                                   "a GPU worker is listed under worker_nodes.cpu; move it to worker_nodes.gpu"))


def _shared_gpus(clusters: list[PlannedCluster], out: list[Finding]) -> list[SharedGpu]:
    users: dict[str, list[GpuUser]] = defaultdict(list)
    models: dict[str, str] = {}
    for cluster in clusters:
        for vm in cluster.vms:
            for slot in vm.plan.spec.gpus:
                users[slot].append(GpuUser(cluster.name, vm.name, vm.plan.spec.auto_start))
            for f in vm.plan.spec.devices:
                if f.pci_address == slot_address(f.pci_address):
                    models.setdefault(slot_address(f.pci_address), model_name(f.vendor_id, f.device_id))
    shared = []
    for slot, who in sorted(users.items()):
        if len({u.cluster for u in who}) > 1:
            gpu = SharedGpu(slot, models.get(slot, "unknown device"), tuple(who))
            shared.append(gpu)
            if gpu.collides_at_start:
                out.append(Finding("warning", "", gpu.summary()))
    return shared


def _check_kubernetes(config: ClusterConfig, clusters: list[PlannedCluster], kube_versions: list[str] | None,
                      out: list[Finding]) -> None:
    """Pod and service ranges apart from each other and from every cluster's subnet; the
    version one the Kubespray checkout ships (its ``kubelet_checksums``), when one is known."""
    cloud = config.clusters.cloud
    if cloud is None:
        return
    k8s = cloud.kubernetes_config
    path = "clusters.cloud.kubernetes_config"
    ranges = [("networking.pod_cidr", k8s.networking.pod_cidr), ("networking.service_cidr",
                                                                  k8s.networking.service_cidr)]
    if ranges[0][1].overlaps(ranges[1][1]):
        out.append(Finding("error", f"{path}.networking.service_cidr",
                           f"service range {ranges[1][1]} overlaps the pod range {ranges[0][1]}; give them "
                           "separate ranges, like 10.233.64.0/18 for pods and 10.233.0.0/18 for services"))
    for key, network in ranges:
        for cluster in clusters:
            subnet = cluster.section.network.subnet
            if network.overlaps(subnet):
                out.append(Finding("error", f"{path}.{key}",
                                   f"{network} overlaps {cluster.name}'s subnet {subnet} ({cluster.path}.network."
                                   "subnet); Kubernetes would route the VMs' own addresses into the cluster"))
    ingress = k8s.ingress
    if ingress.enabled and ingress.replicas is not None:
        out.append(Finding("warning", f"{path}.ingress.replicas",
                           "Kubespray runs the NGINX ingress controller as a DaemonSet, one on each node: "
                           "replicas is not used; remove it"))
    if ingress.enabled and ingress.load_balancer_ip is not None:
        out.append(Finding("warning", f"{path}.ingress.load_balancer_ip",
                           f"{ingress.load_balancer_ip} is not given to anything: ai-how deploys no load balancer "
                           "(such as MetalLB); the ingress answers on the nodes' own addresses"))
    if kube_versions and k8s.version_number:
        wanted = k8s.version_number
        matches = [v for v in kube_versions if v == wanted or v.startswith(wanted + ".")]
        if not matches:
            out.append(Finding("error", f"{path}.version",
                               f"Kubernetes {k8s.version} is not one the Kubespray checkout supports "
                               f"({kube_versions[-1]} to {kube_versions[0]}); pick one of those"))


# Where each password lives when the config does not give it (secret files, see deploy/addons).
SECRET_FIELDS = (
    ("mlops.mlflow.database.password", "postgresql-password", lambda c: c.mlops.mlflow.database.password),
    ("mlops.postgresql.database.password", "postgresql-password",
     lambda c: c.mlops.postgresql.database.password),
    ("mlops.minio.credentials.root_password", "minio-root-password",
     lambda c: c.mlops.minio.credentials.root_password),
    ("monitoring.grafana.admin_password", "grafana-admin-password", lambda c: c.monitoring.grafana.admin_password),
)


def _check_secrets(config: ClusterConfig, out: list[Finding]) -> None:
    """Passwords written in the config: they work, but belong in a file only root reads."""
    cloud = config.clusters.cloud
    if cloud is None:
        return
    for key, secret_file, read in SECRET_FIELDS:
        if read(cloud) is not None:
            out.append(Finding("warning", f"clusters.cloud.{key}",
                               f"a password is written in the config; move it to a secret file: delete it here "
                               f"and ai-how generates one once, kept 0600 as keys/clusters/{cloud.name}/"
                               f"{secret_file} in the state directory, and hands it to the cluster as a "
                               "Kubernetes Secret"))
    given = {read(cloud) for key, f, read in SECRET_FIELDS[:2]} - {None}
    if len(given) > 1:
        out.append(Finding("error", "clusters.cloud.mlops.mlflow.database.password",
                           "MLflow's database password differs from mlops.postgresql.database.password; it is "
                           "the same database user: give it once, or neither"))


def _check_addons(config: ClusterConfig, out: list[Finding]) -> None:
    """An add-on that needs another one, which is off; Seldon, which ai-how does not deploy."""
    cloud = config.clusters.cloud
    if cloud is None:
        return
    mlops, monitoring, serving = cloud.mlops, cloud.monitoring, cloud.serving_config
    needs: list[tuple[str, bool, str, str | None]] = []
    if mlops.mlflow.enabled and mlops.mlflow.database.host is None:
        needs.append(("mlops.mlflow", mlops.postgresql.enabled, "mlops.postgresql", "database.host"))
    if mlops.mlflow.enabled and mlops.mlflow.artifact_store.endpoint is None:
        needs.append(("mlops.mlflow", mlops.minio.enabled, "mlops.minio", "artifact_store.endpoint"))
    if monitoring.grafana.enabled:
        needs.append(("monitoring.grafana", monitoring.prometheus.enabled, "monitoring.prometheus", None))
    if monitoring.logging.enabled:
        needs.append(("monitoring.logging", monitoring.grafana.enabled, "monitoring.grafana", None))
    for what, there, needed, instead in needs:
        if not there:
            other = f", or give {what}.{instead} of one of your own" if instead else ""
            out.append(Finding("error", f"clusters.cloud.{what}.enabled",
                               f"{what} needs {needed}: set {needed}.enabled: true{other}"))
    if serving.seldon.enabled:
        out.append(Finding("error", "clusters.cloud.serving.seldon.enabled",
                           "ai-how serves models with KServe, not Seldon Core: set serving.kserve.enabled: true "
                           "and seldon.enabled: false"))


def validate_config(config: ClusterConfig, kube_versions: list[str] | None = None) -> Report:
    """``kube_versions``: the Kubernetes versions of the known Kubespray checkout, newest first."""
    clusters = plan_clusters(config)
    report = Report(clusters)
    _check_devices(clusters, report.findings)
    _check_networks(config, clusters, report.findings)
    _check_kubernetes(config, clusters, kube_versions, report.findings)
    _check_secrets(config, report.findings)
    _check_addons(config, report.findings)
    check_shared_directories(clusters, report.findings)
    check_shared_storage(clusters, report.findings)
    check_tuning(clusters, report.findings)
    check_accepted_keys(clusters, report.findings)
    report.shared_gpus = _shared_gpus(clusters, report.findings)
    return report
