"""The Cloud cluster's add-on sections: ``mlops``, ``serving`` and ``monitoring``.

Every add-on is off unless its section says ``enabled: true``. Passwords may be written here
(the seeds do), but ``validate`` warns: a password absent from the config is generated once
and kept 0600 under the state directory instead.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .kubernetes_models import DNS_LABEL, DNS_NAME, Strict

Quantity = Annotated[str, Field(pattern=r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|m|k|M|G|T)?$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Version = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:TZ-]{0,63}$")]


class Volume(Strict):
    size: Quantity = "10Gi"
    class_: Annotated[str | None, Field(alias="class", pattern=DNS_NAME)] = None  # None: the default class
    retention: Annotated[str, Field(pattern=r"^\d+[smhdwy]$")] | None = None


class Addon(Strict):
    enabled: bool = False
    version: Version | None = None  # None: the role's default, see its defaults/main.yml
    namespace: Annotated[str, Field(pattern=DNS_LABEL, max_length=63)] | None = None


class Bucket(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]


class MinioService(Strict):
    api_port: Port = 9000
    console_port: Port = 9001


class MinioCredentials(Strict):
    root_user: Annotated[str, Field(min_length=3, max_length=64)] = "admin"
    root_password: Annotated[str, Field(min_length=8)] | None = None


class Minio(Addon):
    storage: Volume = Volume(size="100Gi")
    service: MinioService = MinioService()
    credentials: MinioCredentials = MinioCredentials()
    buckets: list[Bucket] = [Bucket(name="mlflow-artifacts"), Bucket(name="models")]


class Database(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "mlflow"
    username: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "mlflow"
    password: str | None = None


class Ha(Strict):
    enabled: bool = False


class Postgresql(Addon):
    database: Database = Database()
    storage: Volume = Volume(size="20Gi")
    ha: Ha = Ha()


class MlflowDatabase(Strict):
    type: Literal["postgresql"] = "postgresql"
    host: Annotated[str, Field(pattern=DNS_NAME)] | None = None  # None: the postgresql add-on's service
    port: Port = 5432
    database: str | None = None
    username: str | None = None
    password: str | None = None


class ArtifactStore(Strict):
    type: Literal["minio", "s3"] = "minio"
    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] = "mlflow-artifacts"
    endpoint: str | None = None  # None: the minio add-on's service


class Service(Strict):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    port: Port = 5000


class IngressRule(Strict):
    enabled: bool = False
    host: Annotated[str, Field(pattern=DNS_NAME)] | None = None
    path: str = "/"


class Mlflow(Addon):
    database: MlflowDatabase = MlflowDatabase()
    artifact_store: ArtifactStore = ArtifactStore()
    service: Service = Service()
    ingress: IngressRule = IngressRule()


class Resources(Strict):
    requests: dict[str, Quantity] = {"cpu": "1", "memory": "2Gi"}
    limits: dict[str, Quantity] = {"cpu": "2", "memory": "4Gi"}


class InferenceServices(Strict):
    default_resources: Resources = Resources()


class Autoscaling(Strict):
    enabled: bool = True
    min_replicas: Annotated[int, Field(ge=0, le=100)] = 1
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 3
    target_concurrency: Annotated[int, Field(ge=1, le=10000)] = 10


class Kserve(Addon):
    knative_version: Version | None = None
    inference_services: InferenceServices = InferenceServices()
    autoscaling: Autoscaling = Autoscaling()


class Seldon(Addon):
    """Named by the seeds as an alternative; ai-how deploys KServe and refuses Seldon."""


class Serving(Strict):
    kserve: Kserve = Kserve()
    seldon: Seldon = Seldon()


class Mlops(Strict):
    mlflow: Mlflow = Mlflow()
    minio: Minio = Minio()
    postgresql: Postgresql = Postgresql()
    serving: Serving | None = None  # the Oumi plan nests serving here; clusters.cloud.serving also works


class Prometheus(Addon):
    storage: Volume = Volume(size="50Gi", retention="15d")
    service_monitors: list[Literal["kubernetes_api", "kubernetes_nodes", "nvidia_dcgm", "mlflow",
                                   "inference_services"]] = []


class Datasource(Strict):
    name: str
    type: Literal["prometheus", "loki"]
    url: str


DASHBOARDS = ("kubernetes-cluster", "gpu-monitoring", "inference-metrics", "mlflow-experiments")


class Grafana(Addon):
    dashboards: list[Literal[DASHBOARDS]] = list(DASHBOARDS)  # type: ignore[valid-type]
    datasources: list[Datasource] = []  # besides Prometheus (and Loki), which are always there
    admin_password: str | None = None


class Logging(Addon):
    provider: Literal["loki"] = "loki"
    storage: Volume = Volume(size="30Gi", retention="7d")


class Monitoring(Strict):
    prometheus: Prometheus = Prometheus()
    grafana: Grafana = Grafana()
    logging: Logging = Logging()
