"""SLURM's controller of one HPC cluster: its nodes' states, drains and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SlurmJob:
    """A job as squeue shows it."""

    id: str
    user: str
    name: str
    elapsed: str  # as squeue prints it: 1-02:03:04, 5:06
    state: str  # RUNNING, PENDING, COMPLETING, ...
    nodes: tuple[str, ...]  # where it runs, or the nodes it asked for while it waits

    def line(self) -> str:
        return f"job {self.id} ({self.user}, '{self.name}', {self.state.lower()} {self.elapsed})"


class SlurmControl(Protocol):
    """slurmctld, asked on the cluster's controller. Each call raises ``InfrastructureError``
    when the controller or slurmctld does not answer, naming what was asked."""

    def node_states(self) -> dict[str, str]:
        """node -> state (idle, alloc, mix, drain, down, ...; '(not responding)' appended when
        slurmctld cannot reach it)."""

    def state(self, node: str) -> str:
        """One node's state; 'unknown' for a node SLURM does not list."""

    def drain(self, node: str, reason: str) -> None: ...

    def reason(self, node: str) -> str:
        """Why the node is drained or down, as set ('' when it is not)."""

    def resume(self, node: str) -> None:
        """Give a drained or down node back to the scheduler; one that is not is left as it is."""

    def jobs_on(self, node: str) -> list[str]:
        """The ids of the jobs running on ``node``."""

    def jobs(self, nodes: list[str] | None = None) -> list[SlurmJob]:
        """The jobs that run on ``nodes`` or wait for one of them by name (None: every job)."""

    def requeue(self, jobs: list[str]) -> None: ...

    def requeue_each(self, jobs: list[str]) -> tuple[list[str], list[str]]:
        """Requeue one job at a time: (requeued, refused: not requeueable)."""


SlurmAt = Callable[[str, str], SlurmControl]  # (login, controller address) -> that controller's SLURM
