"""Serving a model: ``DeployModel`` checks the GPUs against the leases, applies the
InferenceService and records it; readiness is recorded as observed (``ObserveModel``, and
``--wait``); ``DeleteModel`` removes it from the cluster and the record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import EventStore, ModelRegistry, ModelServing
from ai_how.app.progress import Progress
from ai_how.app.waiting import poll
from ai_how.domain.cluster import ClusterKind, ClusterStatus
from ai_how.domain.commands import DeleteModel, DeployModel, ObserveModel
from ai_how.domain.errors import ClusterNotRunning, UnknownObject
from ai_how.domain.ids import cluster_id, service_id
from ai_how.domain.inference import InferenceService, ServiceState

from .gpus import check_gpus
from .manifests import check_name, digest, inference_service

# Ready False with one of these reasons will not mend by waiting: the service failed.
FAILURES = ("RevisionFailed", "ServingRuntimeNotFound", "InvalidSpec", "PredictorConfigurationFailed",
            "ContainerMissing", "ExitCode", "ImagePullBackOff", "ErrImagePull", "CrashLoopBackOff")


@dataclass
class ModelResult:
    namespace: str
    name: str
    manifest: dict[str, Any]
    state: str
    url: str | None = None
    reason: str | None = None
    applied: bool = True
    notes: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)  # where its replicas run

    def as_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "state": self.state, "url": self.url,
                "reason": self.reason, "applied": self.applied, "notes": self.notes, "nodes": self.nodes,
                "manifest": self.manifest}


def readiness(obj: dict[str, Any] | None) -> tuple[str, str | None, str | None]:
    """(state, url, reason) of an InferenceService as its status says."""
    if obj is None:
        return ServiceState.DELETED.value, None, None
    status = obj.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is not None and ready.get("status") == "True":
        return ServiceState.READY.value, status.get("url"), None
    if ready is not None and ready.get("status") == "False" and str(ready.get("reason", "")).startswith(FAILURES):
        return ServiceState.FAILED.value, None, f"{ready.get('reason')}: {ready.get('message', '')}".strip(": ")
    return ServiceState.DEPLOYED.value, None, None


def kubeconfig_of(store: EventStore, cluster: str) -> Path:
    found = store.get(cluster_id(cluster))
    if found is None or found.status == ClusterStatus.DESTROYED or found.kind != ClusterKind.CLOUD:
        raise ClusterNotRunning(f"no Cloud cluster {cluster} is recorded here: start it with "
                                "'ai-how cloud start CONFIG --deploy'")
    if (kube := found.kube) is None:
        raise ClusterNotRunning(f"{cluster} runs no Kubernetes yet: deploy it with 'ai-how cloud deploy CONFIG'")
    return Path(kube.kubeconfig)


def _record(store: EventStore, command: DeployModel, manifest: dict[str, Any]) -> InferenceService:
    found = store.get(service_id(command.namespace, command.name))
    if found is None:
        found = InferenceService(namespace=command.namespace, name=command.name, cluster=command.cluster,
                                 spec=dict(command.spec), manifest_digest=digest(manifest))
    else:
        found.redeploy(command.cluster, dict(command.spec), digest(manifest))
    store.save(found)
    return found


def _observe(store: EventStore, serving: ModelServing, kubeconfig: Path, service: InferenceService,
             obj: dict[str, Any] | None) -> tuple[str, str | None, str | None]:
    state, url, reason = readiness(obj)
    if state == ServiceState.READY:
        service.observe_ready(url, serving.nodes_of(kubeconfig, service.namespace, service.name))
    elif state == ServiceState.FAILED:
        service.observe_failed(reason or "failed")
    elif state == ServiceState.DELETED:
        service.delete()
    store.save(service)
    return state, url, reason


def deploy_model(command: DeployModel, store: EventStore, live_topology: Any, serving: ModelServing,
                 progress: Progress) -> ModelResult:
    check_name("the inference service's name", command.name)
    check_name("--namespace", command.namespace)
    manifest = inference_service(command.namespace, command.name, command.spec)
    if command.dry_run:  # as kubectl apply --dry-run=client: the manifest, with or without a cluster
        result = ModelResult(command.namespace, command.name, manifest, "not applied (--dry-run)", applied=False)
        try:
            kubeconfig_of(store, command.cluster)
        except ClusterNotRunning as why:
            result.notes.append("the GPU check was not made: " + (str(why) if command.cluster else
                                                                   "no Cloud cluster is recorded here"))
            return result
        check_gpus(live_topology.catch_up(), command.cluster, int(command.spec.get("gpus", 0)))
        return result
    kubeconfig = kubeconfig_of(store, command.cluster)
    check_gpus(live_topology.catch_up(), command.cluster, int(command.spec.get("gpus", 0)))
    serving.apply(kubeconfig, manifest)
    service = _record(store, command, manifest)
    progress(f"{command.namespace}/{command.name}", "applied; waiting for it to be Ready" if command.wait_s else
             "applied")
    state, url, reason = poll(lambda: _observe(store, serving, kubeconfig, service,
                                               serving.get(kubeconfig, command.namespace, command.name)),
                              lambda seen: seen[0] != ServiceState.DEPLOYED, command.wait_s, 2)
    result = ModelResult(command.namespace, command.name, manifest, state, url, reason)
    if command.wait_s and state == ServiceState.DEPLOYED:
        result.notes.append(f"not Ready within {command.wait_s:.0f} s; see 'ai-how model status {command.name}'")
    return result


def _service(store: EventStore, namespace: str, name: str) -> InferenceService:
    found = store.get(service_id(namespace, name))
    if found is None or found.state == ServiceState.DELETED:
        raise UnknownObject(f"no inference service {namespace}/{name} is recorded here; see 'ai-how model list'")
    return found


def observe_model(command: ObserveModel, store: EventStore, serving: ModelServing) -> ModelResult:
    service = _service(store, command.namespace, command.name)
    kubeconfig = kubeconfig_of(store, service.cluster)
    obj = serving.get(kubeconfig, command.namespace, command.name)
    state, url, reason = _observe(store, serving, kubeconfig, service, obj)
    result = ModelResult(command.namespace, command.name, obj or {}, state, url, reason, nodes=list(service.nodes))
    if obj is None:
        result.notes.append("it is gone from the cluster (deleted there): recorded as deleted")
    return result


def delete_model(command: DeleteModel, store: EventStore, serving: ModelServing) -> ModelResult:
    service = _service(store, command.namespace, command.name)
    existed = serving.delete(kubeconfig_of(store, service.cluster), command.namespace, command.name)
    service.delete()
    store.save(service)
    result = ModelResult(command.namespace, command.name, {}, ServiceState.DELETED.value)
    if not existed:
        result.notes.append("it was already gone from the cluster")
    return result


# The ServiceAccount the kserve role makes, with MinIO's credentials, when MinIO is enabled
# (ansible/roles/kserve/defaults/main.yml: kserve_s3_service_account, kserve_s3_namespaces).
S3_SERVICE_ACCOUNT = "kserve-s3"
S3_NAMESPACES = ("default",)


def model_defaults(section: Any) -> dict[str, Any]:
    """``model deploy``'s defaults from the Cloud cluster's serving section."""
    kserve = section.serving_config.kserve
    scaling = kserve.autoscaling
    found = {"resources": kserve.inference_services.default_resources.model_dump(),
             "min_replicas": scaling.min_replicas if scaling.enabled else 1,
             "max_replicas": scaling.max_replicas if scaling.enabled else 1,
             "target_concurrency": scaling.target_concurrency}
    if kserve.enabled and section.mlops.minio.enabled:
        found["s3_service_account"] = S3_SERVICE_ACCOUNT
    return found


def service_account_for(uri: str, namespace: str, given: str | None, defaults: dict[str, Any]) -> str | None:
    """The one given, else the kserve role's S3 account for a model in the S3 store."""
    if given is not None or not uri.startswith("s3://") or namespace not in S3_NAMESPACES:
        return given
    return defaults.get("s3_service_account")


COMMAND_HANDLERS: dict[type, Any] = {DeployModel: deploy_model, ObserveModel: observe_model, DeleteModel: delete_model}


@dataclass(frozen=True)
class Replicas:
    """What each replica of a service asks for, and how many there may be (None: the defaults)."""

    gpus: int = 0
    cpu: str | None = None
    memory: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    target_concurrency: int | None = None


def requested_spec(uri: str | None, mlflow: str | None, mlflow_uri: str | None, model_format: str, section: Any,
                   namespace: str, service_account: str | None, replicas: Replicas,
                   registry: Callable[[], ModelRegistry]) -> dict[str, Any]:
    """The spec of ``model deploy``: a model by its URI, or a version of MLflow's registry
    resolved to where its files are; the config's defaults where the command gives none."""
    from .manifests import check_format, model_spec
    from .registry import parse_ref, resolve, tracking_uri

    if (uri is None) == (mlflow is None):
        raise UsageError("give the model as --uri URI or as --mlflow MODEL@ALIAS (or MODEL/VERSION), one of them")
    defaults = model_defaults(section) if section is not None else {}
    registered = None
    if mlflow is not None:
        check_format(model_format)
        parse_ref(mlflow)
        uri, registered = resolve(registry(), tracking_uri(mlflow_uri, section=section), mlflow, section)
    if uri is None:
        raise UsageError("give the model as --uri URI or as --mlflow MODEL@ALIAS (or MODEL/VERSION)")
    return model_spec(uri, model_format, defaults, replicas.gpus, replicas.cpu, replicas.memory,
                      replicas.min_replicas, replicas.max_replicas, replicas.target_concurrency, registered,
                      service_account_for(uri, namespace, service_account, defaults))
