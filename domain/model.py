"""The Model aggregate: a model ai-how pushed to the S3 store and registered in MLflow, one per
name. Each push is recorded: which version holds which files (their tree digest), where they
are, and whether the version was new. Credentials never enter it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .ids import model_id


class Model(Aggregate):
    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        return model_id(name)

    @event("ModelRegistered")
    def __init__(self, name: str) -> None:
        self.name = name
        self.versions: dict[str, dict[str, Any]] = {}

    def record_push(self, version: str, digest: str, source: str, alias: str | None, reused: bool,
                    origin: str | None = None, job: str | None = None) -> None:
        """``origin``: where the files were read, when not a host folder (e.g. hpc:CLUSTER:PATH on
        the HPC cluster's shared storage); ``job``: the SLURM job that wrote them."""
        self._pushed(version=version, digest=digest, source=source, alias=alias, reused=reused, origin=origin,
                     job=job)

    # origin and job have defaults: pushes recorded before them read back without them.
    @event("ModelPushed")
    def _pushed(self, version: str, digest: str, source: str, alias: str | None, reused: bool,
                origin: str | None = None, job: str | None = None) -> None:
        self.versions[version] = {"digest": digest, "source": source, "alias": alias, "origin": origin, "job": job}
