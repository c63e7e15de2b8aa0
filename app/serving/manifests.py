"""An InferenceService (serving.kserve.io/v1beta1) as plain data, from what ``model deploy``
was given and the config's defaults (``serving.kserve.inference_services.default_resources``
and ``serving.kserve.autoscaling``)."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ai_how.app.errors import UsageError

# KServe's built-in serving runtimes, by the modelFormat names they answer to.
FORMATS = ("sklearn", "xgboost", "lightgbm", "tensorflow", "pytorch", "onnx", "triton", "pmml", "paddle",
           "huggingface", "mlflow")
URI_SCHEMES = ("s3://", "gs://", "pvc://", "https://", "http://", "hf://", "oci://")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
GPU = "nvidia.com/gpu"


def check_name(what: str, name: str) -> str:
    if len(name) > 63 or not DNS_1035.match(name):
        raise UsageError(f"{what} {name!r} must be a DNS-1035 label: at most 63 lower-case letters, digits and "
                         "'-', starting with a letter and ending with a letter or digit")
    return name


def check_format(model_format: str) -> str:
    if model_format not in FORMATS:
        raise UsageError(f"--format {model_format}: not a format KServe serves; choose one of {', '.join(FORMATS)}")
    return model_format


def model_spec(uri: str | None, model_format: str, defaults: dict[str, Any], gpus: int = 0, cpu: str | None = None,
               memory: str | None = None, min_replicas: int | None = None, max_replicas: int | None = None,
               target_concurrency: int | None = None, mlflow: dict[str, Any] | None = None,
               service_account: str | None = None) -> dict[str, Any]:
    """What is served, with the config's defaults filled in: the spec that is recorded
    (``mlflow``: the registry's facts when the URI was resolved from MLflow)."""
    if uri is None or not uri.startswith(URI_SCHEMES):
        raise UsageError(f"--uri {uri}: give a storage URI KServe can read ({', '.join(URI_SCHEMES)})")
    check_format(model_format)
    resources = {part: {k: v for k, v in (defaults.get("resources", {}).get(part) or {}).items() if k != GPU}
                 for part in ("requests", "limits")}
    for part in resources.values():
        if cpu is not None:
            part["cpu"] = cpu
        if memory is not None:
            part["memory"] = memory
        if gpus:
            part[GPU] = str(gpus)
    low = defaults.get("min_replicas", 1) if min_replicas is None else min_replicas
    high = defaults.get("max_replicas", 1) if max_replicas is None else max_replicas
    if high < max(low, 1):
        raise UsageError(f"--max-replicas {high} is below --min-replicas {low}")
    spec = {"storage_uri": uri, "format": model_format, "gpus": gpus, "resources": resources,
            "min_replicas": low, "max_replicas": high,
            "target_concurrency": defaults.get("target_concurrency", 10) if target_concurrency is None
            else target_concurrency}
    if service_account is not None:
        spec["service_account"] = check_name("--service-account", service_account)
    if mlflow is not None:
        spec["mlflow"] = mlflow
    return spec


def inference_service(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    model: dict[str, Any] = {"modelFormat": {"name": spec["format"]}, "storageUri": spec["storage_uri"],
                             "resources": spec["resources"]}
    predictor: dict[str, Any] = {"minReplicas": spec["min_replicas"], "maxReplicas": spec["max_replicas"],
                                 "scaleMetric": "concurrency", "scaleTarget": spec["target_concurrency"],
                                 "model": model}
    if spec["gpus"]:
        # The GPU workers carry the nvidia.com/gpu taint and label (ai-how's inventory).
        predictor["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
        predictor["tolerations"] = [{"key": GPU, "operator": "Exists", "effect": "NoSchedule"}]
    if spec.get("service_account"):
        predictor["serviceAccountName"] = spec["service_account"]  # its Secret holds the S3 credentials
    labels = {"app.kubernetes.io/managed-by": "ai-how"}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if spec.get("mlflow"):
        registered = spec["mlflow"]
        metadata["annotations"] = {"ai-how/mlflow-model": registered["name"],
                                   "ai-how/mlflow-version": str(registered["version"])}
        if registered.get("run_id"):
            metadata["annotations"]["ai-how/mlflow-run"] = registered["run_id"]
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": metadata,
            "spec": {"predictor": predictor}}


def digest(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
