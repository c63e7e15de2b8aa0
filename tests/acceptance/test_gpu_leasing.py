"""Steps for features/gpu_leasing.feature.

Leases go through the command bus on a real SQLite store in the test's state directory;
what the operator sees is read back through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from ai_how.app.bootstrap import bootstrap
from ai_how.app.config_loader import load_config
from ai_how.app.plan import plan_clusters
from ai_how.domain.commands import LeaseGpus, ProvisionCluster, ReleaseGpus
from ai_how.domain.errors import DomainError
from tests.conftest import REPO

scenarios("gpu_leasing.feature")


@pytest.fixture
def bus(state_dir: Path):
    bus = bootstrap(state_dir)
    yield bus
    bus.store.close()


def _record(bus, config_path: Path) -> None:
    for cluster in plan_clusters(load_config(config_path)):
        bus.handle(ProvisionCluster(cluster.plan))


@given(parsers.parse('the clusters of "{path}" are recorded in the store'))
def record_example(bus, path: str) -> None:
    _record(bus, REPO / path)


@given("the clusters of this config are recorded in the store:")
def record_docstring(bus, tmp_path: Path, docstring: str) -> None:
    config = tmp_path / "cluster.yaml"
    config.write_text(docstring)
    _record(bus, config)


@given(parsers.parse("{vm} holds its GPUs"))
def vm_holds(bus, vm: str) -> None:
    bus.handle(LeaseGpus(vm))


def _attempt(bus, command) -> Exception | None:
    try:
        bus.handle(command)
    except DomainError as refused:
        return refused
    return None


@when(parsers.parse("{vm} asks for its GPUs"), target_fixture="outcome")
def asks(bus, vm: str):
    return _attempt(bus, LeaseGpus(vm))


@when(parsers.parse("{vm} releases its GPUs"), target_fixture="outcome")
def releases(bus, vm: str):
    return _attempt(bus, ReleaseGpus(vm))


@when(parsers.parse("{vm} releases GPU {gpu}"), target_fixture="outcome")
def releases_one(bus, vm: str, gpu: str):
    return _attempt(bus, ReleaseGpus(vm, (gpu,)))


@then("the request succeeds")
def succeeds(outcome) -> None:
    assert outcome is None, str(outcome)


@then(parsers.parse('the request is refused with "{message}"'))
def refused(outcome, message: str) -> None:
    assert outcome is not None, "the request was not refused"
    assert message in str(outcome)


def _gpu_list(run_cli) -> dict[str, dict]:
    result = run_cli("gpu", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return {row["pci_address"]: row for row in json.loads(result.stdout)}


@then(parsers.parse('"ai-how gpu list" shows GPU {gpu} held by {vm}'))
def listed_holder(run_cli, gpu: str, vm: str) -> None:
    assert _gpu_list(run_cli)[gpu]["holder"] == vm
    table = run_cli("gpu", "list").stdout
    assert any(gpu in line and vm in line for line in table.splitlines()), table


@then(parsers.parse('"ai-how gpu list" shows GPU {gpu} free'))
def listed_free(run_cli, gpu: str) -> None:
    assert _gpu_list(run_cli)[gpu]["holder"] is None


@then(parsers.parse('"ai-how gpu list" shows GPU {gpu} with functions {functions}'))
def listed_functions(run_cli, gpu: str, functions: str) -> None:
    assert _gpu_list(run_cli)[gpu]["functions"] == functions.split(", ")


def _audit(run_cli) -> list[dict]:
    result = run_cli("audit", "log", "--json")
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@then(parsers.parse('the audit log has exactly {count:d} "{event_type}" event for GPU {gpu}'))
def audit_count(run_cli, count: int, event_type: str, gpu: str) -> None:
    entries = [e for e in _audit(run_cli) if e["type"] == event_type and e["aggregate"] == f"gpu {gpu}"]
    assert len(entries) == count


@then(parsers.parse('"ai-how audit log --json" shows, for GPU {gpu}, in order:'))
def audit_history(run_cli, gpu: str, datatable) -> None:
    entries = [e for e in _audit(run_cli) if e["aggregate"] == f"gpu {gpu}"]
    header, *rows = datatable
    assert [e["type"] for e in entries] == [row[0] for row in rows]
    for entry, (_, payload) in zip(entries, rows):
        if payload:
            assert entry["payload"] == json.loads(payload)
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions)
