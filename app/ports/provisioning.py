"""Configuring running VMs with playbooks (Ansible)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)


class PlaybookRun:
    """One playbook run: ``inventory`` as ansible-inventory reads it, ``extravars`` by file
    (a secret only by its path), ``limit`` one host, ``check`` Ansible's check mode."""

    run_id: str
    cluster: str
    playbook: str  # relative to the ansible/ tree, e.g. playbooks/playbook-hpc.yml
    inventory: dict[str, Any]
    extravars: dict[str, Any]
    limit: str | None = None
    check: bool = False
    # Kubespray's runs: its venv's ansible-playbook, the inventory's group_vars files (by path
    # relative to the inventory, instead of ansible/group_vars) and the checkout's roles.
    binary: str | None = None
    group_vars: dict[str, Any] | None = None
    roles_paths: tuple[str, ...] = ()


@dataclass


class HostTally:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"ok": self.ok, "changed": self.changed, "failed": self.failed, "unreachable": self.unreachable,
                "skipped": self.skipped}


@dataclass(frozen=True)


class PlaybookFailure:
    host: str
    task: str
    message: str


@dataclass


class PlaybookOutcome:
    run_id: str
    status: str  # successful, failed, timeout, canceled
    rc: int
    seconds: float
    hosts: dict[str, HostTally]
    artifacts: Path
    failure: PlaybookFailure | None = None


class Provisioner(Protocol):
    """Runs the project's playbooks against running guests (ansible-runner)."""

    def check(self) -> None:
        """Raise ``InfrastructureError`` with the install command when the runner is missing."""

    def busy(self, cluster: str) -> bool:
        """Is a run for ``cluster`` in progress in some process right now?"""

    def digest(self, playbook: str) -> str:
        """Of what the playbook's run reads from the ansible/ tree (playbook, roles, config)."""

    def run(self, run: PlaybookRun, on_task: Callable[[str, str, str], None]) -> PlaybookOutcome:
        """Run it, holding the cluster's run lock; ``on_task(host, status, task)`` for every
        host's task result (status: ok, changed, failed, skipped, unreachable)."""


class VenvInstaller(Protocol):
    """Makes a Python virtual environment from a requirements file (Kubespray's own Ansible)."""

    def make(self, requirements: Path, venv: Path, on_line: Callable[[str], None]) -> Path:
        """Make ``venv`` anew from ``requirements``; ``.complete`` in it says it was made whole.
        Returns its ansible-playbook."""
