"""SLURM's controller of one HPC cluster: its nodes' states, drains and jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class SlurmControl(Protocol):
    """slurmctld, asked on the cluster's controller. Each call raises ``InfrastructureError``
    when the controller or slurmctld does not answer, naming what was asked."""

    def node_states(self) -> dict[str, str]:
        """node -> state (idle, alloc, mix, drain, down, ...; '(not responding)' appended when
        slurmctld cannot reach it)."""

    def state(self, node: str) -> str:
        """One node's state; 'unknown' for a node SLURM does not list."""

    def drain(self, node: str, reason: str) -> None: ...

    def resume(self, node: str) -> None:
        """Give a drained or down node back to the scheduler; one that is not is left as it is."""

    def jobs_on(self, node: str) -> list[str]:
        """The ids of the jobs running on ``node``."""

    def requeue(self, jobs: list[str]) -> None: ...


SlurmAt = Callable[[str, str], SlurmControl]  # (login, controller address) -> that controller's SLURM
