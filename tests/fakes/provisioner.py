"""A ``Provisioner`` for tests of the deploy's bookkeeping without guests: it runs nothing and
answers what it is told to (the real one, on real guests, is tests/integration/test_slurm_deploy.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ai_how.app.ports import HostTally, PlaybookFailure, PlaybookOutcome, PlaybookRun, Provisioner


class FakeProvisioner(Provisioner):
    def __init__(self, artifacts: Path) -> None:
        self.artifacts = artifacts
        self.runs: list[PlaybookRun] = []
        self.fail_at: tuple[str, str, str] | None = None  # (host, task, message)
        self.running_elsewhere = False
        self.tallies: dict[str, HostTally] = {}  # a host's counts; 3 ok and 1 changed where none is given

    @property
    def playbooks(self) -> list[str]:
        return [r.playbook for r in self.runs]

    def check(self) -> None:
        return None

    def busy(self, cluster: str) -> bool:
        return self.running_elsewhere

    def digest(self, playbook: str) -> str:
        return "f" * 64

    def run(self, run: PlaybookRun, on_task: Callable[[str, str, str], None]) -> PlaybookOutcome:
        self.runs.append(run)
        hosts = _hosts(run)
        for host in dict.fromkeys(hosts):
            on_task(host, "changed", "The cluster's MUNGE key is on the node")
        if self.fail_at is not None:
            host, task, message = self.fail_at
            on_task(host, "failed", task)
            return PlaybookOutcome(run.run_id, "failed", 2, 1.5, {host: HostTally(ok=1, failed=1)},
                                   self.artifacts / run.run_id, PlaybookFailure(host, task, message))
        return PlaybookOutcome(run.run_id, "successful", 0, 2.5,
                               {h: self.tallies.get(h, HostTally(ok=3, changed=1)) for h in hosts},
                               self.artifacts / run.run_id)


def _hosts(run: PlaybookRun) -> list[str]:
    """The hosts a run would reach: the HPC inventory's groups, or Kubespray's (with --limit)."""
    everything = run.inventory["all"]
    if "hosts" in everything:
        return [h for h in everything["hosts"] if run.limit is None or h == run.limit]
    return [h for group in everything["children"]["slurm"]["children"].values() for h in group["hosts"]]
