"""The Cloud cluster's add-ons as the roles' variables, from the config's sections.

Each role (``ansible/roles/<name>``) documents these names and their defaults in its
``defaults/main.yml``; here they are filled from the config. A password is never a value
here: ``secrets`` maps each secret file's name to the config's value (or None: generated),
and the deploy turns them into file paths before anything is recorded.
"""

from __future__ import annotations

from typing import Any

# role, playbook it runs from (playbooks/playbook-cloud.yml or playbook-mlops.yml)
ROLES = (("nvidia-gpu-operator", "cloud"), ("prometheus-stack", "cloud"), ("grafana", "cloud"), ("loki", "cloud"),
         ("minio", "mlops"), ("postgresql", "mlops"), ("mlflow", "mlops"), ("kserve", "mlops"))
PLAYBOOKS = {"cloud": "playbooks/playbook-cloud.yml", "mlops": "playbooks/playbook-mlops.yml"}
SECRET_FILES = ("minio-root-password", "postgresql-password", "grafana-admin-password")


def _size(volume: Any) -> dict[str, Any]:
    return {"size": volume.size, "class": volume.class_}


def addon_settings(section: Any, has_gpu_workers: bool) -> dict[str, Any]:
    """``{"vars": role variables, "enabled": [roles], "secrets": {file: value or None}}``."""
    k8s, mlops, monitoring = section.kubernetes_config, section.mlops, section.monitoring
    serving = section.serving_config
    op = k8s.gpu_operator
    minio, pg, mlflow, kserve = mlops.minio, mlops.postgresql, mlops.mlflow, serving.kserve
    prom, grafana, loki = monitoring.prometheus, monitoring.grafana, monitoring.logging
    variables: dict[str, Any] = {
        "nvidia_gpu_operator_enabled": op.enabled and has_gpu_workers,
        "nvidia_gpu_operator_version": op.version,
        "nvidia_gpu_operator_namespace": op.namespace,
        "nvidia_gpu_operator_driver_enabled": op.driver_enabled,
        "nvidia_gpu_operator_driver_version": op.driver_version,
        "nvidia_gpu_operator_toolkit_version": op.toolkit_version,
        "nvidia_gpu_operator_device_plugin_enabled": op.device_plugin.enabled,
        "nvidia_gpu_operator_mig_strategy": op.device_plugin.mig_strategy,
        "nvidia_gpu_operator_time_slicing": op.device_plugin.time_slicing,
        "nvidia_gpu_operator_time_slicing_replicas": op.device_plugin.time_slicing_replicas,
        "nvidia_gpu_operator_gfd_enabled": op.gfd.enabled,
        "nvidia_gpu_operator_dcgm_enabled": op.dcgm.enabled,
        "nvidia_gpu_operator_dcgm_port": op.dcgm.port,
        "nvidia_gpu_operator_service_monitor": prom.enabled,
        "minio_enabled": minio.enabled,
        "minio_root_user": minio.credentials.root_user,
        "minio_buckets": [b.name for b in minio.buckets],
        "minio_api_port": minio.service.api_port,
        "minio_console_port": minio.service.console_port,
        "minio_storage_size": minio.storage.size,
        "minio_storage_class": minio.storage.class_,
        "postgresql_enabled": pg.enabled,
        "postgresql_database": pg.database.name,
        "postgresql_username": pg.database.username,
        "postgresql_storage_size": pg.storage.size,
        "postgresql_storage_class": pg.storage.class_,
        "mlflow_enabled": mlflow.enabled,
        "mlflow_database_host": mlflow.database.host,
        "mlflow_database_port": mlflow.database.port,
        "mlflow_database_name": mlflow.database.database or pg.database.name,
        "mlflow_database_username": mlflow.database.username or pg.database.username,
        "mlflow_artifact_bucket": mlflow.artifact_store.bucket,
        "mlflow_s3_endpoint": mlflow.artifact_store.endpoint,
        "mlflow_s3_access_key": minio.credentials.root_user,
        "mlflow_minio_namespace": minio.namespace or "mlops",
        "mlflow_minio_port": minio.service.api_port,
        "mlflow_postgresql_namespace": pg.namespace or "mlops",
        "mlflow_service_type": mlflow.service.type,
        "mlflow_port": mlflow.service.port,
        "mlflow_ingress_enabled": mlflow.ingress.enabled,
        "mlflow_ingress_host": mlflow.ingress.host,
        "mlflow_ingress_path": mlflow.ingress.path,
        "kserve_enabled": kserve.enabled,
        "kserve_min_replicas": kserve.autoscaling.min_replicas,
        "kserve_max_replicas": kserve.autoscaling.max_replicas,
        "kserve_target_concurrency": kserve.autoscaling.target_concurrency,
        "kserve_autoscaling_enabled": kserve.autoscaling.enabled,
        "kserve_default_resources": kserve.inference_services.default_resources.model_dump(),
        "kserve_s3_enabled": kserve.enabled and minio.enabled,
        "kserve_s3_access_key": minio.credentials.root_user,
        "kserve_s3_minio_namespace": minio.namespace or "mlops",
        "kserve_s3_minio_port": minio.service.api_port,
        "prometheus_stack_enabled": prom.enabled,
        "prometheus_stack_retention": prom.storage.retention,
        "prometheus_stack_storage_size": prom.storage.size,
        "prometheus_stack_storage_class": prom.storage.class_,
        "prometheus_stack_service_monitors": list(prom.service_monitors),
        "prometheus_stack_grafana_enabled": grafana.enabled,
        "prometheus_stack_mlflow_namespace": mlflow.namespace or "mlops",
        "prometheus_stack_dcgm_namespace": op.namespace,
        "grafana_enabled": grafana.enabled,
        "grafana_dashboards": list(grafana.dashboards),
        "grafana_datasources": [d.model_dump() for d in grafana.datasources],
        "loki_enabled": loki.enabled,
        "loki_retention": loki.storage.retention,
        "loki_storage_size": loki.storage.size,
        "loki_storage_class": loki.storage.class_,
    }
    versions = {"nvidia_gpu_operator": None, "minio": minio.version, "postgresql": pg.version,
                "mlflow": mlflow.version, "kserve": kserve.version, "prometheus_stack": prom.version,
                "grafana": grafana.version, "loki": loki.version}
    for prefix, version in versions.items():
        if version is not None and prefix != "nvidia_gpu_operator":
            variables[f"{prefix}_version"] = version
    if kserve.knative_version:
        variables["kserve_knative_version"] = kserve.knative_version
    for role, namespace in (("minio", minio.namespace), ("postgresql", pg.namespace), ("mlflow", mlflow.namespace),
                            ("kserve", kserve.namespace), ("prometheus_stack", prom.namespace),
                            ("grafana", prom.namespace), ("loki", loki.namespace)):
        if namespace:
            variables[f"{role}_namespace"] = namespace
    enabled = [role for role, _ in ROLES if variables[f"{role.replace('-', '_')}_enabled"]]
    secrets = {"minio-root-password": minio.credentials.root_password,
               "postgresql-password": pg.database.password or mlflow.database.password,
               "grafana-admin-password": grafana.admin_password}
    return {"vars": variables, "enabled": enabled, "secrets": secrets}

