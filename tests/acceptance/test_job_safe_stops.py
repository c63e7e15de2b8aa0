"""Steps for features/job_safe_stops.feature: the real bus, handlers and CLI on libvirt's test
driver, with a stand-in SLURM controller (tests/fakes/slurm.py) in the adapter's place."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then, when

from ai_how.domain.commands import MarkVmStarted
from ai_how.domain.vm import Vm
from tests.conftest import opened
from tests.fakes.slurm import FakeSlurm, Job

from .conftest import audit

scenarios("job_safe_stops.feature")


@given(parsers.parse('SLURM runs job {job} of {user} named "{name}" on {node}, ending soon'))
def job_ends_soon(slurm: FakeSlurm, job: str, user: str, name: str, node: str) -> None:
    slurm.jobs_.append(Job(job, user, name, node, ends_after=3))


@given(parsers.parse('SLURM runs job {job} of {user} named "{name}" on {node}, not requeueable'))
def job_not_requeueable(slurm: FakeSlurm, job: str, user: str, name: str, node: str) -> None:
    slurm.jobs_.append(Job(job, user, name, node, requeueable=False))


@given(parsers.parse('SLURM runs job {job} of {user} named "{name}" on {node}, completing'))
def job_completing(slurm: FakeSlurm, job: str, user: str, name: str, node: str) -> None:
    slurm.jobs_.append(Job(job, user, name, node, state="COMPLETING"))


@given("SLURM does not answer")
def not_answering(slurm: FakeSlurm) -> None:
    slurm.answering = False


@given(parsers.parse('an operator drained {node} in SLURM for "{reason}"'))
def drained_by_hand(slurm: FakeSlurm, node: str, reason: str) -> None:
    slurm.node(node).update(state="drain", reason=reason)


@when(parsers.parse("the guest of {vm} is back"))
def guest_back(state_dir: Path, libvirt_uri: str, run_cli, vm: str) -> None:
    assert run_cli("vm", "start", vm).exit_code == 0
    with opened(state_dir, libvirt_uri=libvirt_uri) as bus:
        found = bus.store.get(Vm.create_id(vm))
        if found.state.value != "running":
            found.request_start()
            bus.store.save(found)
        bus.handle(MarkVmStarted(vm, ready=(found.spec.ip, "tcg", 40.0)))


@then(parsers.parse("SLURM still runs job {job} on {node}"))
def still_runs(slurm: FakeSlurm, job: str, node: str) -> None:
    assert job in slurm.jobs_on(node)


@then(parsers.parse('SLURM shows {node} drain for "{reason}"'))
def drained_for(slurm: FakeSlurm, node: str, reason: str) -> None:
    assert slurm.node(node) == {"state": "drain", "reason": reason}


@then(parsers.parse("SLURM shows {node} idle"))
def idle(slurm: FakeSlurm, node: str) -> None:
    assert slurm.node(node) == {"state": "idle", "reason": ""}


@then("SLURM was asked to drain nothing")
def no_drain(slurm: FakeSlurm) -> None:
    assert not [a for a in slurm.asked if a.startswith("drain")], slurm.asked


@then(parsers.parse('"ai-how audit log --json" shows, for {kind} {name}, these in order:'))
def audit_these(run_cli, kind: str, name: str, datatable) -> None:
    header, *rows = datatable
    wanted = [row[0] for row in rows]
    entries = [e for e in audit(run_cli) if e["aggregate"] == f"{kind} {name}" and e["type"] in wanted]
    assert [e["type"] for e in entries] == wanted
    for entry, (_, payload) in zip(entries, rows):
        if payload.strip():
            assert entry["payload"] == json.loads(payload), entry
