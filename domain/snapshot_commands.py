"""Commands on snapshots (``ai-how snapshot``)."""

from __future__ import annotations

from dataclasses import dataclass

from .commands import Command, JobPolicy


@dataclass(frozen=True)
class TakeSnapshot(Command):
    """One snapshot of every VM of ``cluster`` at one point in time."""

    cluster: str
    name: str
    crash_consistent: bool = False  # running guests without a guest agent answering, unfrozen
    reason: str = "requested"  # or "before redefine", "before deploy RUN"
    keep: int | None = None  # then the oldest automatic snapshots beyond this many are deleted


@dataclass(frozen=True)
class RestoreSnapshot(Command):
    """The cluster stopped (as stops are: SLURM's jobs first), its disks put back, what ran started again."""

    cluster: str
    name: str
    timeout: float = 60.0
    jobs: JobPolicy = JobPolicy()


@dataclass(frozen=True)
class DeleteSnapshot(Command):
    cluster: str
    name: str
    reason: str = "requested"
