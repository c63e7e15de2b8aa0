"""The GpuMove aggregate's rules, and how a move's process is known to be gone."""

from __future__ import annotations

import subprocess

import pytest

from ai_how.app import processes
from ai_how.app.ports import GuestAccess
from ai_how.domain.errors import InvalidTransition
from ai_how.domain.gpu_move import STEPS, GpuMove, MoveState


def _move() -> GpuMove:
    return GpuMove(pci_address="0000:01:00.0", holder="hpc-compute-01", target="cloud-gpu-01", drain_timeout_s=600,
                   force=False, owner="host:1:1")


def test_a_move_ends_only_once_every_step_is_done() -> None:
    move = _move()
    for step in STEPS[:-1]:
        move.step_done(step, "done")
    assert move.next_step == "ready"
    with pytest.raises(InvalidTransition, match="has steps left: ready"):
        move.finish(1.0)
    move.step_done("ready", "done")
    move.step_done("ready", "again")  # a step is recorded once
    move.finish(1.0)
    assert move.state == MoveState.MOVED and move.done["ready"] == "done"
    assert [e.__class__.__name__ for e in move.collect_events()].count("GpuMoveStepDone") == len(STEPS)


def test_a_move_in_progress_is_not_started_over_and_an_ended_one_takes_no_step() -> None:
    move = _move()
    with pytest.raises(InvalidTransition, match="is being moved to cloud-gpu-01 already"):
        move.restart("cloud-gpu-01", "hpc-compute-01", 600, False, "host:2:2")
    move.fail("drain", "jobs still run")
    with pytest.raises(InvalidTransition, match="it is failed"):
        move.step_done("stop_holder", "x")
    move.restart("hpc-compute-01", "cloud-gpu-01", 60, True, "host:2:2")
    assert (move.state, move.done, move.force, move.owner) == (MoveState.IN_PROGRESS, {}, True, "host:2:2")


def test_a_move_s_process_is_alive_while_it_runs_and_not_once_it_is_gone() -> None:
    assert processes.alive(processes.this_process())
    child = subprocess.Popen(["sleep", "0"])
    child.wait()
    host = processes.this_process().rsplit(":", 2)[0]
    assert not processes.alive(f"{host}:{child.pid}:1")
    assert not processes.alive(None)
    mine = processes.this_process()
    assert not processes.alive(mine.rsplit(":", 1)[0] + ":0")  # the PID reused by another process
    assert processes.alive("elsewhere:1:1")  # another host cannot be asked


class _Guests(GuestAccess):
    """A SLURM controller's shell: sinfo answers with the node states, or a node's drain reason
    (ai-how's unless told); commands are kept."""

    def __init__(self, states: dict[str, str], reason: str = "ai-how: gpu move 0000:01:00.0 to cloud-gpu-01") -> None:
        self.states, self.reason, self.ran = states, reason, []

    def run(self, login: str, address: str, command: list[str], timeout_s: float) -> tuple[int, str, str]:
        if command[0] == "sinfo" and "%E" in command:
            return 0, self.reason + "\n", ""
        self.ran.append(" ".join(command))
        if command[0] == "sinfo":
            return 0, "".join(f"{node} {state}\n" for node, state in self.states.items()), ""
        return 0, "", ""


def _store(holder_state: str, card_holder: str | None):
    from types import SimpleNamespace

    from ai_how.domain.cluster import ClusterKind
    from ai_how.domain.ids import cluster_id, gpu_id, vm_id
    from ai_how.domain.specs import VmSpec
    from ai_how.domain.vm import VmState

    controller = SimpleNamespace(name="hpc-controller", state=VmState.RUNNING,
                                 spec=VmSpec(cpu_cores=1, memory_gb=1, disk_gb=4, ip="10.0.0.10",
                                             base_image_path="/images/hpc.qcow2"))
    records = {
        vm_id("hpc-compute-01"): SimpleNamespace(name="hpc-compute-01", cluster="hpc", role="compute",
                                                 state=VmState(holder_state)),
        vm_id("hpc-controller"): controller,
        cluster_id("hpc"): SimpleNamespace(name="hpc", kind=ClusterKind.HPC, is_deployed=True),
        gpu_id("0000:01:00.0"): SimpleNamespace(holder=card_holder),
    }
    return SimpleNamespace(get=records.get)


def test_a_failed_move_resumes_its_holder_s_node_while_the_holder_runs_with_the_card() -> None:
    from ai_how.app.lifecycle.handover import ResumeHolder

    guests = _Guests({"hpc-compute-01": "drain"})
    said = ResumeHolder(_store("running", "hpc-compute-01"), _slurm_at(guests))(_move_of("hpc-compute-01"))
    assert said == "SLURM node hpc-compute-01 resumed: it still runs and holds the card"
    assert "sudo scontrol update nodename=hpc-compute-01 state=resume" in guests.ran


def test_a_drain_an_operator_set_by_hand_is_never_resumed() -> None:
    from ai_how.app.lifecycle.handover import ResumeHolder

    guests = _Guests({"hpc-compute-01": "drain"}, reason="disk check (alice)")
    assert ResumeHolder(_store("running", "hpc-compute-01"), _slurm_at(guests))(_move_of("hpc-compute-01")) is None
    assert not any("state=resume" in command for command in guests.ran)


def test_a_holder_that_stopped_or_gave_the_card_up_is_left_as_it_is() -> None:
    from ai_how.app.lifecycle.handover import ResumeHolder

    for state, holder in (("stopped", None), ("running", "cloud-gpu-01")):
        guests = _Guests({"hpc-compute-01": "drain"})
        assert ResumeHolder(_store(state, holder), _slurm_at(guests))(_move_of("hpc-compute-01")) is None
        assert guests.ran == []


def _slurm_at(guests):
    from ai_how.adapters.slurm import SshSlurm

    return lambda login, address: SshSlurm(guests, login, address)


def _move_of(holder: str) -> GpuMove:
    return GpuMove(pci_address="0000:01:00.0", holder=holder, target="cloud-gpu-01", drain_timeout_s=600,
                   force=False, owner="host:1:1")
