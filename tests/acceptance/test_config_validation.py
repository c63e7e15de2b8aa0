"""Steps for features/config_validation.feature: they drive the real CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from tests.conftest import REPO, split_path

scenarios("config_validation.feature")


@pytest.fixture
def config_doc() -> dict:
    return {}


@pytest.fixture
def validated() -> list[str]:
    """The config path each 'validate' step ran on, for later steps to look at again."""
    return []


def _parent(doc: dict, path: str) -> tuple[object, str | int]:
    parts = split_path(path)
    node = doc
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


@given(parsers.parse('the config "{path}"'), target_fixture="config_doc")
def the_config(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


@given(parsers.parse('its field "{path}" set to {value}'))
def set_field(config_doc: dict, path: str, value: str) -> None:
    node, key = _parent(config_doc, path)
    node[key] = yaml.safe_load(value)


@given(parsers.parse('its field "{path}" copied from "{source}"'))
def copy_field(config_doc: dict, path: str, source: str) -> None:
    src_node, src_key = _parent(config_doc, source)
    node, key = _parent(config_doc, path)
    node[key] = copy.deepcopy(src_node[src_key])


@given(parsers.parse('its key "{path}" renamed to "{new_name}"'))
def rename_key(config_doc: dict, path: str, new_name: str) -> None:
    node, key = _parent(config_doc, path)
    node[new_name] = node.pop(key)


@given(parsers.parse('its item "{path}" removed'))
def remove_item(config_doc: dict, path: str) -> None:
    node, key = _parent(config_doc, path)
    del node[key]


@given("a config file containing:", target_fixture="config_file")
def config_file_containing(tmp_path: Path, docstring: str) -> Path:
    target = tmp_path / "cluster.yaml"
    target.write_text(docstring)
    return target


@pytest.fixture
def config_file(tmp_path: Path, config_doc: dict) -> Path:
    target = tmp_path / "cluster.yaml"
    target.write_text(yaml.safe_dump(config_doc))
    return target


@when(parsers.parse('I validate "{path}"'), target_fixture="result")
def validate_example(run_cli, validated: list[str], path: str):
    validated.append(str(REPO / path))
    return run_cli("validate", validated[-1])


@when("I validate it", target_fixture="result")
def validate_it(run_cli, validated: list[str], config_file: Path, monkeypatch):
    monkeypatch.delenv("AI_HOW_TEST_UNSET_IMAGE", raising=False)
    validated.append(str(config_file))
    return run_cli("validate", validated[-1])


@then("the plan lists these VMs:")
def plan_lists(run_cli, result, validated: list[str], datatable) -> None:
    report = json.loads(run_cli("validate", "--json", validated[-1]).stdout)
    header, *rows = datatable
    expected = [dict(zip(header, row)) for row in rows]
    actual = [{"name": vm["name"], "role": vm["role"], "ip": vm["ip"] or "",
               "gpus": " ".join(vm["gpus"]), "auto_start": str(vm["auto_start"]).lower()}
              for vm in report["vms"]]
    assert actual == expected
    for row in expected:
        assert row["name"] in result.stdout


@then(parsers.parse('the output is a JSON Schema that requires "{key}"'))
def json_schema_requires(result, key: str) -> None:
    schema = json.loads(result.stdout)
    assert key in schema["required"]
    assert schema["additionalProperties"] is False
