"""Steps for features/plan.feature, on libvirt's test driver."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then

from ai_how.adapters.libvirt.connection import connect
from ai_how.domain.ids import cluster_id
from tests.conftest import opened

scenarios("plan.feature")


@given(parsers.parse("SLURM is recorded as deployed on {cluster}"))
def slurm_recorded(state_dir: Path, cluster: str) -> None:
    with opened(state_dir) as bus:
        found = bus.store.get(cluster_id(cluster))
        found.start_deploy("r1", "playbooks/playbook-hpc.yml", "d", "c", {}, None, False)
        found.mark_deployed("r1", 1.0, {vm: {"ok": 1, "changed": 0} for vm in found.vms})
        bus.store.save(found)


@then(parsers.parse("libvirt shows {name} running with {memory:d} GiB and {vcpus:d} vCPUs"))
def domain_size(libvirt_uri: str, name: str, memory: int, vcpus: int) -> None:
    dom = connect(libvirt_uri).lookupByName(name)
    root = ET.fromstring(dom.XMLDesc(0))
    assert dom.isActive()
    assert int(root.findtext("memory")) == memory * 1024 * 1024
    assert int(root.findtext("vcpu")) == vcpus


def _cluster(result, cluster: str) -> dict:
    return next(c for c in json.loads(result.stdout)["clusters"] if c["cluster"] == cluster)


@then(parsers.parse('the plan\'s JSON has for {cluster} the drift "{text}"'))
def json_drift(result, cluster: str, text: str) -> None:
    assert text in _cluster(result, cluster)["drift"]


@then(parsers.parse('the plan\'s JSON has for {cluster} the action "{kind} {subject}"'))
def json_action(result, cluster: str, kind: str, subject: str) -> None:
    assert {"kind": kind, "subject": subject} in [{"kind": a["kind"], "subject": a["subject"]}
                                                  for a in _cluster(result, cluster)["actions"]]
