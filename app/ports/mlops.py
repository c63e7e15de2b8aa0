"""Serving and registering models: KServe, the MLflow registry, the S3 store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

Manifests = list[dict[str, Any]]  # named here: inside ModelServing, "list" is its method
Names = list[str]


class ModelServing(Protocol):
    """KServe's InferenceServices on a cluster, reached with its admin kubeconfig."""

    def apply(self, kubeconfig: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create it, or replace the one of that name; the object as the API server keeps it."""

    def get(self, kubeconfig: Path, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list(self, kubeconfig: Path, namespace: str | None = None) -> Manifests: ...

    def delete(self, kubeconfig: Path, namespace: str, name: str) -> bool:
        """False when there was nothing of that name."""

    def nodes_of(self, kubeconfig: Path, namespace: str, name: str) -> Names:
        """The nodes its predictor's pods run on."""


@dataclass(frozen=True)


class RegisteredModel:
    """One version of a model in MLflow's registry."""

    name: str
    version: str
    source: str  # as registered
    storage_uri: str  # where its files are (MLflow's download URI)
    run_id: str | None = None
    alias: str | None = None  # the alias it was found by, or set to
    tags: dict[str, str] = field(default_factory=dict)


class ModelRegistry(Protocol):
    """MLflow's model registry at a tracking URI."""

    def check(self, tracking_uri: str) -> None:
        """Raise (InfrastructureError) unless the registry answers."""

    def resolve(self, tracking_uri: str, name: str, alias: str | None = None,
                version: str | None = None) -> RegisteredModel:
        """The version an alias points to, or the numbered one (UnknownObject if none)."""

    def find(self, tracking_uri: str, name: str, tag: str, value: str) -> RegisteredModel | None:
        """The newest version of ``name`` with that tag's value, if any."""

    def register(self, tracking_uri: str, name: str, source: str, tags: dict[str, str],
                 description: str | None = None) -> RegisteredModel:
        """A new version of ``name`` (created if it is new) whose files are at ``source``."""

    def set_alias(self, tracking_uri: str, name: str, alias: str, version: str) -> None: ...


@dataclass(frozen=True)


class S3Access:
    """An S3 endpoint and its credentials. The secret stays in memory: never printed or recorded."""

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)


@dataclass(frozen=True)


class LocalFile:
    path: Path
    key: str  # its key under the upload's prefix
    size: int
    sha256: str


@dataclass(frozen=True)


class StoredObject:
    key: str
    size: int
    etag: str
    uploaded: bool  # False: the same bytes were there already


class ObjectStore(Protocol):
    """Files into an S3 bucket, each checked after the upload against what was sent."""

    def upload_verified(self, access: S3Access, bucket: str, prefix: str, files: Sequence[LocalFile]) -> list[StoredObject]:
        """Upload each file to ``prefix/key`` (skipping one whose object holds the same bytes),
        then compare every object's size and ETag with the local file's; on a mismatch the bad
        objects are removed and ChecksumMismatch is raised naming them."""
