"""Models from MLflow's registry: ``NAME@ALIAS`` or ``NAME/VERSION`` resolved to the URI of
the version's files, in a form KServe's storage initializer reads.

An MLflow server that serves its artifacts itself (``--serve-artifacts``, as ai-how's mlflow
role runs it) reports ``mlflow-artifacts:/PATH``; the files are then in its artifact
destination, the ``mlops.mlflow.artifact_store`` bucket: ``s3://BUCKET/PATH``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import ModelRegistry, RegisteredModel

from .manifests import URI_SCHEMES

REF = re.compile(r"^(?P<name>[^@/\s][^@/]*?)(?:@(?P<alias>[A-Za-z_][A-Za-z0-9_-]*)|/(?P<version>[1-9][0-9]*))$")


def parse_ref(ref: str) -> tuple[str, str | None, str | None]:
    """(name, alias, version) of ``NAME@ALIAS`` or ``NAME/VERSION``."""
    found = REF.match(ref.strip())
    if found is None:
        raise UsageError(f"--mlflow {ref}: give MODEL@ALIAS (e.g. llm@staging) or MODEL/VERSION (e.g. llm/3)")
    return found["name"], found["alias"], found["version"]


def mlops_of(section: Any) -> Any:
    """The Cloud cluster's ``mlops`` section, or None (no config, or none in it)."""
    return section.mlops if section is not None else None


def tracking_uri(given: str | None, env: Mapping[str, str] = os.environ, section: Any = None) -> str:
    """``--mlflow-uri``, else ``MLFLOW_TRACKING_URI``, else the config's MLflow ingress."""
    if given:
        return given
    if env.get("MLFLOW_TRACKING_URI"):
        return env["MLFLOW_TRACKING_URI"]
    mlflow = mlops.mlflow if (mlops := mlops_of(section)) is not None else None
    if mlflow is not None and mlflow.enabled and mlflow.ingress.enabled and mlflow.ingress.host:
        return f"http://{mlflow.ingress.host}{mlflow.ingress.path.rstrip('/')}"
    raise UsageError("no MLflow tracking URI: give --mlflow-uri http://HOST:5000, set MLFLOW_TRACKING_URI, or "
                     "enable mlops.mlflow.ingress with a host in the config")


def artifacts_bucket(section: Any) -> str | None:
    """The S3 bucket behind ``mlflow-artifacts:`` URIs, when the config's MLflow keeps them in S3."""
    mlflow = mlops.mlflow if (mlops := mlops_of(section)) is not None else None
    return mlflow.artifact_store.bucket if mlflow is not None and mlflow.enabled else None


def storage_uri(model: RegisteredModel, bucket: str | None) -> str:
    """Where KServe reads the version's files from; refused when it cannot."""
    uri = model.storage_uri
    if uri.startswith(URI_SCHEMES):
        return uri
    served = re.match(r"^mlflow-artifacts:(//[^/]*)?/(?P<path>.+)$", uri)
    if served and bucket:
        return f"s3://{bucket}/{served['path']}"
    raise UsageError(f"version {model.version} of {model.name} keeps its files at {uri}, which the cluster cannot "
                     "read: push the model with 'ai-how model push PATH --name " + model.name + "' (it lands in "
                     "the S3 store), or give --uri")


def resolve(registry: ModelRegistry, uri: str, ref: str, section: Any = None) -> tuple[str, dict[str, Any]]:
    """(storage URI for KServe, the MLflow facts recorded with the service)."""
    name, alias, version = parse_ref(ref)
    model = registry.resolve(uri, name, alias, version)
    facts = {"tracking_uri": uri, "name": model.name, "version": model.version, "run_id": model.run_id,
             "alias": alias, "source": model.source}
    return storage_uri(model, artifacts_bucket(section)), facts
