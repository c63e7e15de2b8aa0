"""Steps for features/gpu_leasing.feature.

Leases go through the command bus on a real SQLite store in the test's state directory;
what the operator sees is read back through the CLI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from ai_how.app.bootstrap import bootstrap
from ai_how.app.config.loader import load_config
from ai_how.app.config.plan import plan_clusters
from ai_how.domain.commands import LeaseGpus, ProvisionCluster, ReleaseGpus
from ai_how.domain.errors import DomainError
from tests.conftest import REPO

scenarios("gpu_leasing.feature")


@pytest.fixture
def bus(state_dir: Path):
    bus = bootstrap(state_dir)
    yield bus
    bus.close()


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
