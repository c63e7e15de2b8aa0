"""``kubernetes_config`` of the Cloud cluster, in both shapes the seeds use.

The flat shape (``cni: calico``, ``ingress: nginx``, ``storage_class: local-path``) is read
into the detailed one (``networking.cni``, ``ingress.provider``, ``storage.default_class``),
so everything downstream sees one model. Defaults are Kubespray's, so an absent key means
what it would mean to Kubespray.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

KUBE_VERSION_PATTERN = r"^v?\d+\.\d+(\.\d+)?$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
# Kubespray's kube_network_plugin values (roles/validate_inventory), less 'cloud' and 'none'.
Cni = Literal["calico", "cilium", "flannel", "kube-ovn", "kube-router", "macvlan", "cni", "custom_cni"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class KubeNetworking(Strict):
    cni: Cni = "calico"
    cni_version: str | None = None
    pod_cidr: IPv4Network = IPv4Network("10.233.64.0/18")  # Kubespray's kube_pods_subnet
    service_cidr: IPv4Network = IPv4Network("10.233.0.0/18")  # Kubespray's kube_service_addresses
    dns_domain: Annotated[str, Field(pattern=DNS_NAME, max_length=253)] = "cluster.local"


class Ingress(Strict):
    provider: Literal["nginx"] = "nginx"
    enabled: bool = True
    replicas: Annotated[int, Field(ge=1, le=16)] | None = None
    load_balancer_ip: IPv4Address | None = None


class StorageClass(Strict):
    name: Annotated[str, Field(pattern=DNS_NAME)]
    provisioner: str
    reclaim_policy: Literal["Delete", "Retain"] = "Delete"
    parameters: dict[str, str] = {}


class KubeStorage(Strict):
    default_class: Annotated[str, Field(pattern=DNS_NAME)] = "local-path"
    classes: list[StorageClass] = []


class Toggle(Strict):
    enabled: bool = True


class DevicePlugin(Strict):
    enabled: bool = True
    mig_strategy: Literal["none", "single", "mixed"] = "none"
    time_slicing: bool = False
    time_slicing_replicas: Annotated[int, Field(ge=2, le=64)] = 4


class Dcgm(Strict):
    enabled: bool = True
    port: Annotated[int, Field(ge=1, le=65535)] = 9400  # dcgm-exporter's metrics port


class GpuOperator(Strict):
    enabled: bool = True
    version: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+$")] = "v25.3.4"
    driver_enabled: bool = True  # false: the guests' own driver (e.g. from the image)
    driver_version: Annotated[str, Field(pattern=r"^\d+\.\d+(\.\d+)?$")] = "570.172.08"
    toolkit_version: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+(-[a-z0-9.]+)?$")] = "v1.17.8"
    device_plugin: DevicePlugin = DevicePlugin()
    gfd: Toggle = Toggle()
    dcgm: Dcgm = Dcgm()
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)] = "gpu-operator"


class KubernetesConfig(Strict):
    version: Annotated[str, Field(pattern=KUBE_VERSION_PATTERN)] | None = None  # None: the checkout's default
    runtime: Literal["containerd", "crio", "docker"] = "containerd"
    runtime_version: str | None = None
    networking: KubeNetworking = KubeNetworking()
    ingress: Ingress = Ingress(enabled=False)
    storage: KubeStorage = KubeStorage()
    gpu_operator: GpuOperator = GpuOperator()
    metrics_server: bool = True
    helm: bool = True  # the add-ons are Helm releases: off only when none is enabled
    auto_join: bool = True  # a worker started later joins by itself (Kubespray's scale.yml)
    drain_timeout_s: Annotated[int, Field(ge=0, le=3600)] = 120

    @model_validator(mode="before")
    @classmethod
    def _flat_shape(cls, data: Any) -> Any:
        """The seeds' short form: ``cni``, ``ingress: nginx``, ``storage_class``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "cni" in data:
            networking = dict(data.get("networking") or {})
            if "cni" in networking:
                raise ValueError("give the CNI once: either 'cni' or 'networking.cni'")
            networking["cni"] = data.pop("cni")
            data["networking"] = networking
        if isinstance(data.get("ingress"), str):
            provider = data.pop("ingress")
            data["ingress"] = {"enabled": False} if provider == "none" else {"provider": provider, "enabled": True}
        if "storage_class" in data:
            storage = dict(data.get("storage") or {})
            if "default_class" in storage:
                raise ValueError("give the default storage class once: 'storage_class' or 'storage.default_class'")
            storage["default_class"] = data.pop("storage_class")
            data["storage"] = storage
        return data

    @property
    def version_number(self) -> str | None:
        """The version as Kubespray writes it (no 'v')."""
        return self.version.removeprefix("v") if self.version else None
