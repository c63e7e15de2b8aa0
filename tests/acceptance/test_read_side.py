"""Steps for features/topology.feature and features/audit.feature."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then

from ai_how.domain.ids import gpu_id
from tests.conftest import REPO, opened

scenarios("topology.feature", "audit.feature")


@given(parsers.parse('the config "{path}" with a GPU {vendor}:{device} at {address} on {vm}'))
def config_with_gpu(tmp_path: Path, config_path: list[str], path: str, vendor: str, device: str, address: str,
                    vm: str) -> None:
    doc = yaml.safe_load((REPO / path).read_text())
    index = int(vm.rsplit("-", 1)[1]) - 1
    doc["clusters"]["hpc"]["compute_nodes"][index]["pcie_passthrough"] = {"enabled": True, "devices": [
        {"pci_address": address, "device_type": "gpu", "vendor_id": vendor, "device_id": device}]}
    target = tmp_path / "cluster.yaml"
    target.write_text(yaml.safe_dump(doc))
    config_path.append(str(target))


def _gpu_entry(tree: dict, vm: str, address: str) -> dict:
    entries = [g for c in tree["clusters"] for v in c["vms"] if v["name"] == vm for g in v["gpus"]]
    return next(g for g in entries if g["pci_address"] == address)


@then(parsers.parse('the topology JSON says GPU {address} of {vm} is "{allocation}" with a conflict with {other}'))
def gpu_conflict(result, address: str, vm: str, allocation: str, other: str) -> None:
    gpu = _gpu_entry(json.loads(result.stdout), vm, address)
    assert gpu["allocation"] == allocation
    assert [c["vm"] for c in gpu["conflicts"]] == [other]


@then(parsers.parse('the topology JSON says GPU {address} of {vm} is "{allocation}" with no conflict'))
def gpu_no_conflict(result, address: str, vm: str, allocation: str) -> None:
    gpu = _gpu_entry(json.loads(result.stdout), vm, address)
    assert gpu["allocation"] == allocation and gpu["conflicts"] == []


@then(parsers.parse("the topology JSON has no cluster {name}, which was started later"))
def no_cluster_then(result, name: str) -> None:
    assert name not in [c["name"] for c in json.loads(result.stdout)["clusters"]]


def _lines(result) -> list[dict]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@then("the JSON lines say:")
def json_lines_say(result, datatable) -> None:
    header, *rows = datatable
    actual = [[e["type"], e["aggregate"], json.dumps(e["payload"], sort_keys=True)] for e in _lines(result)]
    assert actual == [[t, a, json.dumps(json.loads(p), sort_keys=True)] for t, a, p in rows]


@then(parsers.parse("every JSON line concerns {vm}"))
def every_line_concerns(result, vm: str) -> None:
    lines = _lines(result)
    assert lines
    assert all(e["aggregate"] == f"vm {vm}" or e["payload"].get("vm") == vm for e in lines)
    assert {"GpuLeased", "VmStarted"} <= {e["type"] for e in lines}


@then(parsers.parse('the JSON lines are "{event_type}" for {names}'))
def lines_are(result, event_type: str, names: str) -> None:
    lines = _lines(result)
    assert [(e["type"], e["aggregate"]) for e in lines] == [(event_type, f"vm {n}") for n in names.split(", ")]


@then(parsers.parse("there are {count:d} JSON lines"))
def count_lines(result, count: int) -> None:
    assert len(_lines(result)) == count


@then("there are as many JSON lines as events in the log")
def as_many_lines(result, state_dir: Path) -> None:
    with opened(state_dir) as bus:
        assert len(_lines(result)) == bus.store.max_position()


@pytest.fixture
def views_noted() -> list[dict]:
    return []


@given("I note the views as they are")
def note_views(state_dir: Path, views_noted: list[dict]) -> None:
    with opened(state_dir) as bus:
        views_noted.append(bus.dependencies["views"].dump())
    assert views_noted[0]["vms"] and views_noted[0]["gpus"]


@then("the views are identical to the ones I noted")
def views_identical(state_dir: Path, views_noted: list[dict]) -> None:
    with opened(state_dir) as bus:
        assert bus.dependencies["views"].dump() == views_noted[0]


@given(parsers.parse('the position of the first "{event_type}" event for GPU {address}'))
def first_position(run_cli, noted: dict[str, str], event_type: str, address: str) -> None:
    result = run_cli("audit", "log", "--gpu", address, "--type", event_type, "--limit", "1", "--json")
    noted["position"] = str(_lines(result)[0]["position"])


@given(parsers.parse("events written around the rules: GPU {address} leased to {intruder} while {holder} holds it"))
def break_the_rule(state_dir: Path, address: str, intruder: str, holder: str) -> None:
    with opened(state_dir) as bus:
        gpu = bus.store.get(gpu_id(address))
        assert gpu.holder == holder
        gpu._leased(vm=intruder)  # the event method itself: what a buggy tool or a hand-edited log could record
        bus.store.save(gpu)
