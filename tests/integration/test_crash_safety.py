"""`ai-how hpc start` killed with SIGKILL at each injected point, on a real libvirtd.

After each kill, `reconcile` and `status` must leave: no pending intent, every recorded
state equal to libvirt's, no GPU leased to a VM that does not run, a log that reads back
whole (positions increasing, each aggregate's versions 1..n), and a second start converging.
(GPU VMs cannot run on a machine without GPUs; the GPU side of these crashes is covered by
the reconciliation feature on libvirt's test driver.)
"""

from __future__ import annotations

import json
import signal
from collections import defaultdict

import pytest

from ai_how.app.faults import CRASH_ENV, POINTS

from .conftest import states

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


def check_log(ai_how) -> None:
    entries = [json.loads(line) for line in ai_how("audit", "log", "--json").stdout.splitlines()]
    positions = [e["position"] for e in entries]
    assert positions == sorted(set(positions))
    versions = defaultdict(list)
    for entry in entries:
        versions[entry["aggregate_id"]].append(entry["version"])
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values()), versions


@pytest.mark.parametrize("point", POINTS)
def test_a_killed_start_is_reconciled_and_converges(cluster: dict, ai_how, point: str) -> None:
    config, vms = cluster["config"], cluster["vms"]
    ai_how("hpc", "start", config, expect=-signal.SIGKILL, extra_env={CRASH_ENV: point})

    ai_how("reconcile")
    status = json.loads(ai_how("hpc", "status", config, "--json").stdout)
    actual = states(vms)
    for vm in status["vms"]:
        assert vm["pending_intent"] is None, vm
        assert (vm["state"] == "running") == (actual[vm["name"]] == "running"), (vm, actual)
    for gpu in json.loads(ai_how("gpu", "list", "--json").stdout):
        assert gpu["holder"] is None or actual.get(gpu["holder"]) == "running", gpu
    check_log(ai_how)

    ai_how("hpc", "start", config)
    assert states(vms) == {vm: "running" for vm in vms}
    check_log(ai_how)
    ai_how("hpc", "destroy", config, "--yes", "--timeout", "1")
