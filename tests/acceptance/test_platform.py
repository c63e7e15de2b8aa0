"""Steps for features/reconciliation.feature and features/system_lifecycle.feature."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then
from typer.testing import CliRunner

import ai_how.app.faults as faults
from ai_how.adapters.libvirt import LibvirtHypervisor
from ai_how.app.cli import app
from ai_how.app.ports import DomainState
from tests.conftest import REPO

scenarios("reconciliation.feature", "system_lifecycle.feature")


class SimulatedCrash(BaseException):
    """Raised where the real switch sends SIGKILL: nothing of ai-how catches it."""


def _hypervisor(libvirt_uri: str) -> LibvirtHypervisor:
    return LibvirtHypervisor(libvirt_uri, Path("/unused"))


@given(parsers.parse('"ai-how {args}" was killed at {point}'))
def killed_at(run_cli, monkeypatch, args: str, point: str) -> None:
    def crash() -> None:
        raise SimulatedCrash(point)

    assert point in faults.POINTS
    monkeypatch.setattr(faults, "crash", crash)
    monkeypatch.setenv(faults.CRASH_ENV, point)
    with pytest.raises(SimulatedCrash):
        run_cli(*args.split())
    monkeypatch.delenv(faults.CRASH_ENV)


@given(parsers.parse('another operator with another store started "{config}" on this libvirt host'))
def other_operator(tmp_path: Path, libvirt_uri: str, config: str, request) -> None:
    store = []
    shared = os.environ.get("AI_HOW_EVENT_STORE")
    if shared:  # on PostgreSQL, another store is another schema
        other = shared.replace("?schema=", "?schema=other_")
        store = ["--event-store", other]
        request.addfinalizer(lambda: _drop_schema(other))
    result = CliRunner().invoke(app, ["--state-dir", str(tmp_path / "other-store"), "--libvirt-uri", libvirt_uri,
                                      *store, "hpc", "start", str(REPO / config)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr


def _drop_schema(url: str) -> None:
    import psycopg

    base, schema = url.split("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _json(run_cli, *args: str):
    result = run_cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@then("no GPU is leased to a VM that libvirt does not run")
def no_lease_without_vm(run_cli, libvirt_uri: str) -> None:
    hypervisor = _hypervisor(libvirt_uri)
    holders = [row["holder"] for row in _json(run_cli, "gpu", "list") if row["holder"]]
    assert {h: hypervisor.domain_state(h) for h in holders} == {h: DomainState.RUNNING for h in holders}


@then("every VM that libvirt runs holds every GPU it is configured with")
def no_vm_without_lease(run_cli, libvirt_uri: str) -> None:
    for domain in _hypervisor(libvirt_uri).list_domains():
        if domain.state == DomainState.RUNNING:
            vm = _json(run_cli, "vm", "status", domain.name)
            assert vm["gpus_held"] == vm["gpus_configured"], vm


@then("the recorded state of every VM matches libvirt")
def recorded_matches(run_cli, libvirt_uri: str) -> None:
    hypervisor = _hypervisor(libvirt_uri)
    for vm in _json(run_cli, "hpc", "status")["vms"]:
        running = hypervisor.domain_state(vm["name"]) == DomainState.RUNNING
        assert vm["pending_intent"] is None, vm
        assert (vm["state"] == "running") == running, vm


@then(parsers.parse("libvirt has no domain of {cluster}"))
def no_domain(libvirt_uri: str, cluster: str) -> None:
    assert [d.name for d in _hypervisor(libvirt_uri).list_domains() if d.cluster == cluster] == []


@then(parsers.parse('the audit log has "{event_type}" for {first} before {second}'))
def ordered(run_cli, event_type: str, first: str, second: str) -> None:
    result = run_cli("audit", "log", "--json")
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    positions = {e["aggregate"]: e["position"] for e in entries if e["type"] == event_type}
    assert positions[f"cluster {first}"] < positions[f"cluster {second}"]


@then("the shared resources say:")
def shared_resources(result, datatable) -> None:
    overview = json.loads(result.stdout)
    header, *rows = datatable
    clusters = header[1:-1]
    actual = [[r["pci_address"], *[", ".join(r["configured"].get(c, [])) for c in clusters], r["holder"] or ""]
              for r in overview["shared_resources"]]
    assert actual == [list(row) for row in rows]
