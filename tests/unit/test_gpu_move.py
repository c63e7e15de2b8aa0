"""The GpuMove aggregate's rules, and how a move's process is known to be gone."""

from __future__ import annotations

import subprocess

import pytest

from ai_how.app import processes
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
