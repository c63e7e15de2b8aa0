"""Steps for features/config_validation.feature: they drive the real CLI."""

from __future__ import annotations

import json

from pytest_bdd import parsers, scenarios, then, when

from tests.conftest import REPO

scenarios("config_validation.feature")


@when(parsers.parse('I validate "{path}"'), target_fixture="result")
def validate_example(run_cli, validated: list[str], path: str):
    validated.append(str(REPO / path))
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
