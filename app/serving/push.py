"""``model push``: a model directory (e.g. from the HPC cluster's shared storage) into the S3
store under a prefix named by its content, every object checked after the upload, then a
version in MLflow's registry whose source is that prefix. Pushing the same files again
uploads nothing and registers nothing new: the version that has them is reused."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_how.app.bus import decide
from ai_how.app.errors import ChecksumMismatch, UsageError
from ai_how.app.ports import EventStore, KeyStore, LocalFile, ModelRegistry, ObjectStore, RegisteredModel, S3Access
from ai_how.domain.commands import PushModel
from ai_how.domain.ids import model_id
from ai_how.domain.model import Model

from .registry import mlops_of, parse_ref

DIGEST_TAG = "ai_how_sha256"  # the tag that names a version's files by their tree digest
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass
class PushResult:
    model: RegisteredModel
    source: str
    files: int
    size: int
    uploaded: int
    reused_version: bool
    digest: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.model.name, "version": self.model.version, "alias": self.model.alias,
                "source": self.source, "files": self.files, "bytes": self.size, "uploaded": self.uploaded,
                "reused_version": self.reused_version, "tree_sha256": self.model.tags.get(DIGEST_TAG)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def local_files(path: Path) -> list[LocalFile]:
    """The regular files of a model directory (or one file), sorted by key; links are refused."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if path.is_file():
        return [LocalFile(path, path.name, path.stat().st_size, _sha256(path))]
    files = []
    for found in sorted(path.rglob("*")):
        if found.is_symlink():
            raise UsageError(f"{found}: a symbolic link; push a directory of plain files (copy it with cp -rL)")
        if found.is_file():
            files.append(LocalFile(found, found.relative_to(path).as_posix(), found.stat().st_size, _sha256(found)))
    if not files:
        raise UsageError(f"{path}: no files to push")
    return files


def tree_digest(files: list[LocalFile]) -> str:
    return hashlib.sha256("".join(f"{f.key}\0{f.sha256}\n" for f in files).encode()).hexdigest()


def s3_access(endpoint: str | None, env: Mapping[str, str], keys: KeyStore | None, cluster: str | None,
              section: Any) -> S3Access:
    """``--s3-endpoint`` (or AWS_ENDPOINT_URL / MLFLOW_S3_ENDPOINT_URL) with AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, or else the minio add-on's root user and its password file."""
    endpoint = endpoint or env.get("AWS_ENDPOINT_URL") or env.get("MLFLOW_S3_ENDPOINT_URL")
    if not endpoint:
        raise UsageError("no S3 endpoint: give --s3-endpoint http://HOST:9000 (MinIO's API, e.g. after 'kubectl -n "
                         "mlops port-forward svc/minio 9000'), or set AWS_ENDPOINT_URL")
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return S3Access(endpoint, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    minio = mlops.minio if (mlops := mlops_of(section)) is not None else None
    if minio is None or not minio.enabled or keys is None or cluster is None:
        raise UsageError("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --config with "
                         "the Cloud cluster whose mlops.minio ai-how deployed")
    secret = keys.cluster_secret(cluster, "minio-root-password", minio.credentials.root_password)
    return S3Access(endpoint, minio.credentials.root_user, secret.read_text().strip())


def push_model(path: Path, name: str, alias: str | None, bucket: str, access: S3Access, tracking_uri: str,
               objects: ObjectStore, registry: ModelRegistry) -> PushResult:
    if not MODEL_NAME.match(name):
        raise UsageError(f"--name {name!r}: a model name is letters, digits, '.', '_' and '-' (at most 128)")
    if alias is not None:
        parse_ref(f"{name}@{alias}")  # an alias as --mlflow NAME@ALIAS will read it
    files = local_files(path)
    tree = tree_digest(files)
    registry.check(tracking_uri)  # before any upload: an unreachable registry stops the push here
    prefix = f"{name}/{tree[:16]}"
    try:
        stored = objects.upload_verified(access, bucket, prefix, files)
    except ChecksumMismatch as exc:
        raise ChecksumMismatch(f"{exc}; nothing was registered in MLflow: push again") from None
    source = f"s3://{bucket}/{prefix}"
    found = registry.find(tracking_uri, name, DIGEST_TAG, tree)
    reused = found is not None and found.source == source
    if found is None or not reused:
        found = registry.register(tracking_uri, name, source, {DIGEST_TAG: tree, "ai_how_files": str(len(files))},
                                  description=f"pushed by ai-how from {path}")
    if alias:
        registry.set_alias(tracking_uri, name, alias, found.version)
        found = RegisteredModel(found.name, found.version, found.source, found.storage_uri, found.run_id, alias,
                                found.tags)
    result = PushResult(found, source, len(files), sum(f.size for f in files),
                        sum(1 for s in stored if s.uploaded), reused, tree)
    if reused:
        result.notes.append(f"these files are version {found.version} already: nothing new was registered")
    return result


def push(command: PushModel, store: EventStore, objects: ObjectStore, registry: ModelRegistry) -> PushResult:
    """The push, then ``ModelPushed``: which version holds which files, and where."""
    result = push_model(Path(command.path), command.name, command.alias, command.bucket, command.access,
                        command.tracking_uri, objects, registry)

    def pushed() -> list[Model]:
        model: Model = store.get(model_id(command.name)) or Model(name=command.name)
        model.record_push(result.model.version, result.digest, result.source, result.model.alias,
                          result.reused_version, command.origin, command.job)
        return [model]

    decide(store, pushed)
    return result


COMMAND_HANDLERS: dict[type, Any] = {PushModel: push}
