"""A ``SlurmControl`` for tests without guests: slurmctld's nodes, drains and jobs in memory.

Time passes as SLURM is asked: a job given ``ends_after`` ends after that many questions
about the jobs. The real adapter (adapters/slurm, sinfo/squeue/scontrol over SSH) runs
against the real slurmctld in tests/integration/test_slurm_deploy.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import SlurmControl, SlurmJob


@dataclass
class Job:
    id: str
    user: str
    name: str
    node: str
    state: str = "RUNNING"
    elapsed: str = "1:00:00"
    requeueable: bool = True
    ends_after: int | None = None  # questions until it ends; None: it runs until stopped


@dataclass
class FakeSlurm(SlurmControl):
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {"state", "reason"}
    jobs_: list[Job] = field(default_factory=list)
    answering: bool = True
    asked: list[str] = field(default_factory=list)  # every command, as scontrol would be asked

    def _ask(self, what: str) -> None:
        if not self.answering:
            raise InfrastructureError(f"{what} on the SLURM controller failed: slurm_load_jobs error: Unable to "
                                      "contact slurm controller (connect failure)")

    def node(self, name: str) -> dict[str, str]:
        return self.nodes.setdefault(name, {"state": "idle", "reason": ""})

    def node_states(self) -> dict[str, str]:
        self._ask("sinfo")
        return {name: n["state"] for name, n in self.nodes.items()}

    def state(self, node: str) -> str:
        return self.node_states().get(node, "unknown")

    def reason(self, node: str) -> str:
        self._ask("sinfo")
        return self.node(node)["reason"]

    def drain(self, node: str, reason: str) -> None:
        self._ask(f"draining {node}")
        self.asked.append(f"drain {node} {reason}")
        self.node(node).update(state="drain", reason=reason)

    def resume(self, node: str) -> None:
        self._ask(f"resuming {node}")
        if self.node(node)["state"].startswith(("drain", "down")):
            self.asked.append(f"resume {node}")
            self.node(node).update(state="idle", reason="")

    def jobs_on(self, node: str) -> list[str]:
        return [job.id for job in self.jobs([node]) if job.state == "RUNNING"]

    def jobs(self, nodes: list[str] | None = None) -> list[SlurmJob]:
        self._ask("squeue")
        for job in self.jobs_:
            if job.state == "RUNNING" and job.ends_after is not None:
                job.ends_after -= 1
                if job.ends_after <= 0:
                    job.state = "COMPLETED"
        return [SlurmJob(j.id, j.user, j.name, j.elapsed, j.state, (j.node,) if j.node else ())
                for j in self.jobs_ if j.state not in ("COMPLETED", "CANCELLED")
                and (nodes is None or j.node in nodes)]

    def requeue(self, jobs: list[str]) -> None:
        self.requeue_each(jobs)

    def requeue_each(self, jobs: list[str]) -> tuple[list[str], list[str]]:
        self._ask("requeue")
        requeued, refused = [], []
        for job in (j for j in self.jobs_ if j.id in jobs):
            if job.requeueable:
                job.state, job.node, job.elapsed = "PENDING", "", "0:00"
                requeued.append(job.id)
            else:
                refused.append(job.id)
        self.asked.append(f"requeue {','.join(requeued)}")
        return requeued, refused

    def stop_node(self, node: str) -> None:
        """The node's VM went down: what ran there and could not be requeued ends."""
        for job in self.jobs_:
            if job.node == node and job.state == "RUNNING":
                job.state = "CANCELLED"
