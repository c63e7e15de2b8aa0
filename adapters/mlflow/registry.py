"""The ``ModelRegistry`` port: MLflow's registry through ``MlflowClient`` (mlflow-skinny).

MLflow's client retries a refused connection for minutes by default; ai-how asks once more
and gives up within seconds, with one line that names the tracking URI."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Iterator

from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.ports import ModelRegistry, RegisteredModel
from ai_how.domain.errors import UnknownObject

# Read by MLflow when its client is first imported; a user's own settings win.
CLIENT_SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                   "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
UNREACHABLE = ("Connection refused", "Name or service not known", "timed out", "RemoteDisconnected",
               "Failed to establish", "Max retries exceeded")


def _client(tracking_uri: str) -> Any:
    for key, value in CLIENT_SETTINGS.items():
        os.environ.setdefault(key, value)
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # not its "waiting for the version" chatter
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@contextmanager
def _answers(tracking_uri: str, what: str) -> Iterator[Any]:
    """The client; MLflow's failures as one line each."""
    from mlflow.exceptions import MlflowException

    try:
        yield _client(tracking_uri)
    except MlflowException as exc:
        message = str(exc.message if hasattr(exc, "message") else exc)
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or (
                exc.error_code == "INVALID_PARAMETER_VALUE" and "alias" in message and "not found" in message):
            raise UnknownObject(f"MLflow at {tracking_uri} has no {what}; its UI there lists the "
                                "registered models") from None
        if any(mark in message for mark in UNREACHABLE):
            raise InfrastructureError(f"MLflow at {tracking_uri} does not answer ({_reason(message)}); check "
                                      "--mlflow-uri or MLFLOW_TRACKING_URI") from None
        if exc.error_code in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
            raise InfrastructureError(f"MLflow at {tracking_uri} refused to give {what}: {exc.error_code.lower()}; "
                                      "set MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD") from None
        if exc.error_code == "INVALID_PARAMETER_VALUE":
            raise UsageError(f"MLflow refused {what}: {message.splitlines()[0]}") from None
        raise InfrastructureError(f"MLflow at {tracking_uri} failed on {what}: {message.splitlines()[0]}") from None


def _reason(message: str) -> str:
    for mark in UNREACHABLE:
        if mark in message:
            return mark.lower()
    return message.splitlines()[0]


def _registered(client: Any, found: Any, alias: str | None) -> RegisteredModel:
    return RegisteredModel(name=found.name, version=str(found.version), source=found.source,
                           storage_uri=client.get_model_version_download_uri(found.name, found.version),
                           run_id=found.run_id or None, alias=alias, tags=dict(found.tags or {}))


class MlflowRegistry(ModelRegistry):
    def check(self, tracking_uri: str) -> None:
        with _answers(tracking_uri, "its registered models") as client:
            client.search_registered_models(max_results=1)

    def resolve(self, tracking_uri: str, name: str, alias: str | None = None,
                version: str | None = None) -> RegisteredModel:
        with _answers(tracking_uri, f"model {name!r}") as client:
            client.get_registered_model(name)
        what = f"alias {alias!r} of model {name!r}" if alias else f"version {version} of model {name!r}"
        with _answers(tracking_uri, what) as client:
            found = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
            return _registered(client, found, alias)

    def find(self, tracking_uri: str, name: str, tag: str, value: str) -> RegisteredModel | None:
        with _answers(tracking_uri, f"the versions of model {name!r}") as client:
            versions = client.search_model_versions(f"name = '{name}' and tags.`{tag}` = '{value}'")
            if not versions:
                return None
            return _registered(client, max(versions, key=lambda v: int(v.version)), None)

    def register(self, tracking_uri: str, name: str, source: str, tags: dict[str, str],
                 description: str | None = None) -> RegisteredModel:
        from mlflow.exceptions import MlflowException

        with _answers(tracking_uri, f"a new version of model {name!r}") as client:
            try:
                client.create_registered_model(name)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            found = client.create_model_version(name, source, tags=tags, description=description)
            return _registered(client, found, None)

    def set_alias(self, tracking_uri: str, name: str, alias: str, version: str) -> None:
        with _answers(tracking_uri, f"alias {alias!r} of model {name!r}") as client:
            client.set_registered_model_alias(name, alias, version)
