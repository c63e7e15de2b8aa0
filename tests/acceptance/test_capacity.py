"""Steps for features/capacity.feature, on libvirt's test driver (32 CPUs, 256 GiB)."""

from __future__ import annotations

import json

from pytest_bdd import parsers, scenarios, then

from .conftest import audit

scenarios("capacity.feature")


@then(parsers.parse('the audit log records for {cluster} one "{event_type}" with:'))
def recorded_with(run_cli, cluster: str, event_type: str, datatable) -> None:
    entries = [e for e in audit(run_cli) if e["type"] == event_type and e["aggregate"] == f"cluster {cluster}"]
    assert len(entries) == 1, entries
    payload = entries[0]["payload"]
    found = {**payload["snapshot"], "vms": payload["vms"]}
    for field, value in datatable[1:]:
        assert found[field] == json.loads(value), (field, found)
