"""Steps for features/gpu_move.feature, on libvirt's test driver. Most kills are simulated in
process (the switch that sends SIGKILL raises instead), and the killed command's process is
then taken to be gone, as it would be. One is real: the move runs in a forked copy of this
process (which holds the test driver's state as it was), the switch sends it SIGKILL after
the drain, which changes nothing in libvirt, and the real liveness check finds it gone."""

from __future__ import annotations

import json
import os
import signal

import pytest
from pytest_bdd import given, parsers, scenarios, then

import ai_how.app.faults as faults
import ai_how.app.processes as processes

scenarios("gpu_move.feature")


class SimulatedKill(BaseException):
    """Raised where the real switch sends SIGKILL: nothing of ai-how catches it."""


@given(parsers.parse('"ai-how {args}" was killed after its step {step}'))
def killed_after(run_cli, monkeypatch, args: str, step: str) -> None:
    point = f"gpu-move-after-{step}"
    assert point in faults.MOVE_POINTS

    def kill() -> None:
        raise SimulatedKill(point)

    monkeypatch.setattr(faults, "crash", kill)
    monkeypatch.setenv(faults.CRASH_ENV, point)
    with pytest.raises(SimulatedKill):
        run_cli(*args.split())
    monkeypatch.delenv(faults.CRASH_ENV)
    killed = processes.this_process()
    monkeypatch.setattr(processes, "alive", lambda owner: bool(owner) and owner != killed)
    monkeypatch.setattr(processes, "this_process", lambda: "localhost:1:1")  # the next command's process


@given(parsers.parse('"ai-how {args}" was killed by SIGKILL after its step {step}'))
def sigkilled_after(run_cli, args: str, step: str) -> None:
    point = f"gpu-move-after-{step}"
    assert point in faults.MOVE_POINTS
    child = os.fork()
    if child == 0:  # pragma: no cover (the child: it ends by the signal, or says why it did not)
        try:
            os.environ[faults.CRASH_ENV] = point
            result = run_cli(*args.split())
            os.write(2, f"the move was not killed: exit {result.exit_code}\n{result.stderr}".encode())
        finally:
            os._exit(70)
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"the move's process ended with {status}"


def _gpus(run_cli) -> list[dict]:
    result = run_cli("gpu", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@then(parsers.parse('"ai-how gpu list --json" shows the move of GPU {gpu} to {target} interrupted after {step}, '
                    'and so does the topology'))
def move_shown(run_cli, gpu: str, target: str, step: str) -> None:
    row = next(r for r in _gpus(run_cli) if r["pci_address"] == gpu)
    move = row["move"]
    assert (move["to"], move["state"], move["steps"][-1]) == (target, "in_progress", step), move
    assert not processes.alive(move["owner"]) and move["interrupted"] is True
    listed = run_cli("gpu", "list")
    assert "interrupted" in listed.stdout and target in listed.stdout, listed.stdout
    tree = json.loads(run_cli("topology", "--json").stdout)
    shown = [card["move"] for c in tree["clusters"] for vm in c["vms"] for card in vm["gpus"]
             if card["pci_address"] == gpu and "move" in card]
    assert shown and all(m["to"] == target and m["steps"][-1] == step for m in shown), shown


@then("no GPU has two holders")
def one_holder_each(run_cli) -> None:
    held = {}
    for vm in json.loads(run_cli("topology", "--json").stdout)["clusters"]:
        for node in vm["vms"]:
            for card in node["gpus"]:
                if card["holder"] is not None:
                    held.setdefault(card["pci_address"], set()).add(card["holder"])
    assert all(len(holders) == 1 for holders in held.values()), held
    running = {r["holder"] for r in _gpus(run_cli) if r["holder"]}
    states = {vm["name"]: vm["state"] for c in json.loads(run_cli("topology", "--json").stdout)["clusters"]
              for vm in c["vms"]}
    assert all(states[h] in ("running", "starting") for h in running), (running, states)


@then(parsers.parse("the move of GPU {gpu} is recorded step by step: {steps}"))
def recorded_steps(run_cli, gpu: str, steps: str) -> None:
    log = [json.loads(line) for line in run_cli("audit", "log", "--json").stdout.splitlines()]
    moves = [e for e in log if e["type"].startswith("GpuMove") or e["type"] == "GpuMoved"]
    last_start = max(i for i, e in enumerate(moves) if e["type"] in ("GpuMoveStarted", "GpuMoveRestarted"))
    story = moves[last_start:]
    done = [e["payload"]["step"] for e in story if e["type"] == "GpuMoveStepDone"]
    assert done == [s.strip() for s in steps.split(",")], story
    assert story[-1]["type"] == "GpuMoved", story
