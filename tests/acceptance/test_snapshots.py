"""Steps for features/snapshots.feature: the real bus, handlers and CLI on libvirt's test
driver; the disks' chains in memory (tests/fakes/disk_snapshots.py) in the adapter's place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, scenarios, then

from ai_how.adapters.libvirt import LibvirtHypervisor
from tests.fakes.disk_snapshots import FakeDiskSnapshots

scenarios("snapshots.feature")


@pytest.fixture(autouse=True)
def disks(monkeypatch, libvirt_uri: str) -> FakeDiskSnapshots:
    """The one set of disks every ai-how of the scenario snapshots."""
    import ai_how.app.bootstrap as bootstrap

    fake = FakeDiskSnapshots(state_of=LibvirtHypervisor(libvirt_uri, Path("/unused")).domain_state)
    monkeypatch.setattr(bootstrap, "libvirt_snapshots", lambda uri: fake)
    return fake


@given(parsers.parse("the guest agent of {vm} does not answer"))
def silent_agent(disks: FakeDiskSnapshots, vm: str) -> None:
    disks.silent_agents.add(vm)


@given(parsers.parse('{vm} wrote "{content}" to its disk'))
def wrote(disks: FakeDiskSnapshots, vm: str, content: str) -> None:
    disks.write(vm, content)


@given(parsers.parse("the restore of {vm} will be cut off"))
def cut_off(disks: FakeDiskSnapshots, vm: str) -> None:
    disks.fail_restore_of = vm


@then(parsers.parse('{vm} reads "{content}" from its disk'))
def reads(disks: FakeDiskSnapshots, vm: str, content: str) -> None:
    assert disks.read(vm) == content


@then(parsers.parse("every guest of {cluster} was frozen before the first disk was taken and thawed after the last"))
def frozen_together(disks: FakeDiskSnapshots, cluster: str) -> None:
    kinds = [kind for kind, vm in disks.calls if vm.startswith(cluster)]
    frozen = {vm for kind, vm in disks.calls if kind == "freeze"}
    assert frozen == {vm for kind, vm in disks.calls if kind == "take"} == {vm for kind, vm in disks.calls
                                                                             if kind == "thaw"}, disks.calls
    assert kinds == ["freeze"] * len(frozen) + ["take"] * len(frozen) + ["thaw"] * len(frozen), disks.calls
    assert not disks.frozen_now


@then("no disk was taken and no guest is left frozen")
def nothing_taken(disks: FakeDiskSnapshots) -> None:
    assert not [c for c in disks.calls if c[0] == "take"] and not disks.frozen_now, disks.calls


@then("no disk was restored")
def nothing_restored(disks: FakeDiskSnapshots) -> None:
    assert not [c for c in disks.calls if c[0] == "restore"], disks.calls


@then(parsers.parse('"ai-how snapshot list {cluster} --json" lists {name} as {consistency}, with {gpu_vms} '
                    'holding a GPU'))
def listed(run_cli, cluster: str, name: str, consistency: str, gpu_vms: str) -> None:
    result = run_cli("snapshot", "list", cluster, "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["name"], r["consistency"], r["gpu_vms"]) for r in rows] == [
        (name, consistency, gpu_vms.split(" and "))], rows
    assert set(rows[0]["vms"].values()) == {"running"}


@then(parsers.parse('"ai-how hpc status {config} --json" shows no deployment'))
def no_deployment(run_cli, config: str) -> None:
    result = run_cli("hpc", "status", config, "--json")
    assert result.exit_code == 0, result.stderr
    assert not json.loads(result.stdout).get("deployment"), result.stdout


@then(parsers.parse('"ai-how snapshot list {cluster} --json" lists {name} and one snapshot before redefine'))
def by_hand_and_one_automatic(run_cli, cluster: str, name: str) -> None:
    result = run_cli("snapshot", "list", cluster, "--json")
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows][0] == name and [r["reason"] for r in rows] == ["requested", "before redefine"], rows


@then(parsers.parse('the output does not say "{text}"'))
def output_lacks(result, text: str) -> None:
    assert text not in result.stdout, result.stdout


@then('"ai-how snapshot list --json" lists no snapshot')
def none_listed(run_cli) -> None:
    result = run_cli("snapshot", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == [], result.stdout


@given(parsers.parse("the disk of {vm} cannot be snapshotted"))
def take_fails(disks: FakeDiskSnapshots, vm: str) -> None:
    disks.fail_take_of = vm


@then(parsers.parse("every VM of {cluster} writes to its disk of before"))
def tops_as_before(disks: FakeDiskSnapshots, cluster: str) -> None:
    assert {vm: top for vm, top in disks.tops.items() if vm.startswith(cluster)} == {
        vm: f"/pool/{vm}.qcow2" for vm in disks.tops if vm.startswith(cluster)}, disks.tops
    assert not [f for f in disks.backing if "@half" in f], disks.backing


@then("no guest is left frozen")
def none_frozen(disks: FakeDiskSnapshots) -> None:
    assert not disks.frozen_now
