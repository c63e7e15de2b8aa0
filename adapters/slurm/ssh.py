"""SLURM's own commands on an HPC cluster's controller, run over the platform's SSH."""

from __future__ import annotations

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import GuestAccess, SlurmControl

SINFO = ["sinfo", "--noheader", "--Node", "--format", "%N %t"]
FLAGS = "*~#%!$@^-"  # sinfo's state suffixes; '*' is "not responding"


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
