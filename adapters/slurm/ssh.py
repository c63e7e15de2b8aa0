"""SLURM's own commands on an HPC cluster's controller, run over the platform's SSH."""

from __future__ import annotations

import re

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import GuestAccess, SlurmControl, SlurmJob

SINFO = ["sinfo", "--noheader", "--Node", "--format", "%N %t"]
FLAGS = "*~#%!$@^-"  # sinfo's state suffixes; '*' is "not responding"
# Every job: id, user, name, elapsed, state, the nodes it runs on, the nodes it asked for.
SQUEUE = ["squeue", "--noheader", "--states", "all", "--format", "%i|%u|%j|%M|%T|%N|%n"]
DONE = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "DEADLINE",
        "OUT_OF_MEMORY"}
_RANGE = re.compile(r"([^,\[]+)\[([^\]]+)\]|([^,\[]+)")


def hostnames(expression: str) -> list[str]:
    """SLURM's host list, expanded: 'c-compute-[01-03,05],c-controller' -> each name."""
    names: list[str] = []
    for prefix, ranges, plain in _RANGE.findall(expression.strip()):
        if plain:
            names.append(plain)
            continue
        for part in ranges.split(","):
            low, _, high = part.partition("-")
            for number in range(int(low), int(high or low) + 1):
                names.append(f"{prefix}{number:0{len(low)}d}")
    return [n for n in names if n and n != "(null)"]


class SshSlurm(SlurmControl):
    def __init__(self, guests: GuestAccess, login: str, controller_ip: str) -> None:
        self.guests, self.login, self.address = guests, login, controller_ip

    def _run(self, command: list[str], what: str) -> str:
        code, out, err = self.guests.run(self.login, self.address, command, timeout_s=30)
        if code != 0:
            said = (err.strip().splitlines() or [f"exit {code}"])[-1]
            raise InfrastructureError(f"{what} on the SLURM controller failed: {said}")
        return out

    def node_states(self) -> dict[str, str]:
        states: dict[str, str] = {}
        for line in self._run(SINFO, "sinfo").splitlines():
            words = line.split()
            if len(words) == 2:
                name, state = words
                flag = state[-1] if state[-1] in FLAGS else ""
                states[name] = state.rstrip(FLAGS) + (" (not responding)" if flag == "*" else "")
        return states

    def state(self, node: str) -> str:
        return self.node_states().get(node, "unknown")

    def reason(self, node: str) -> str:
        out = self._run(["sinfo", "--noheader", "--Node", "--nodes", node, "--format", "%E"], f"the state of {node}")
        said = (out.strip().splitlines() or ["none"])[0].strip()
        return "" if said == "none" else said

    def jobs(self, nodes: list[str] | None = None) -> list[SlurmJob]:
        found = []
        for line in self._run(SQUEUE, "squeue").splitlines():
            fields = line.split("|")
            if len(fields) != 7 or fields[4] in DONE:
                continue
            job_id, user, name, elapsed, state, running_on, asked_for = fields
            where = tuple(hostnames(running_on) or hostnames(asked_for))
            if nodes is None or set(where) & set(nodes):
                found.append(SlurmJob(job_id, user, name, elapsed, state, where))
        return found

    def drain(self, node: str, reason: str) -> None:
        self._run(["sudo", "scontrol", "update", f"nodename={node}", "state=drain", f"reason={reason}"],
                  f"draining {node}")

    def resume(self, node: str) -> None:
        if self.node_states().get(node, "").startswith(("drain", "drng", "down")):
            self._run(["sudo", "scontrol", "update", f"nodename={node}", "state=resume"], f"resuming {node}")

    def jobs_on(self, node: str) -> list[str]:
        out = self._run(["squeue", "--noheader", "--nodelist", node, "--format", "%i"], f"the jobs on {node}")
        return [line.strip() for line in out.splitlines() if line.strip()]

    def requeue(self, jobs: list[str]) -> None:
        self._run(["sudo", "scontrol", "requeue", ",".join(jobs)], f"requeueing jobs {', '.join(jobs)}")

    def requeue_each(self, jobs: list[str]) -> tuple[list[str], list[str]]:
        requeued, refused = [], []
        for job in jobs:
            code, _, _ = self.guests.run(self.login, self.address, ["sudo", "scontrol", "requeue", job], timeout_s=30)
            (requeued if code == 0 else refused).append(job)
        return requeued, refused
