"""Eight OS processes race for one GPU on one SQLite store: exactly one may win.

Each process is a separate operator with its own cluster whose compute node is configured
with the same card. They all wait at a barrier, then ask for the GPU at once. The processes
are forked from one forkserver that imported ai-how once for every round: still eight
separate processes, each with its own bus and store connection, without eight interpreter
start-ups and imports per round.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from ai_how.app.bootstrap import bootstrap
from ai_how.app.readside.projection import Topology
from ai_how.app.readside.views import topology_at
from ai_how.domain.commands import LeaseGpus
from ai_how.domain.errors import GpuLeasedElsewhere
from tests.conftest import opened
from tests.fakes.sysfs import GPU_CARD, FakeKernel, build_tree

from .helpers import record_rivals

PROCESSES = 8
ROUNDS = int(os.environ.get("AI_HOW_RACE_ROUNDS", "1"))


def _contender(state_dir: str, store_url: str | None, host_root: str, vm: str, barrier, results) -> None:
    try:
        # The store by name: the forkserver's environment is that of the round that started it.
        env = {"AI_HOW_EVENT_STORE": store_url} if store_url else {}
        bus = bootstrap(state_dir, pci_host=FakeKernel(Path(host_root)), env=env)
        barrier.wait(timeout=60)
    except BaseException as exc:  # reported to the parent, which fails the test with it
        barrier.abort()
        results.put(("error", vm, f"before the race: {type(exc).__name__}: {exc}"))
        return
    try:
        bus.handle(LeaseGpus(vm))
        results.put(("won", vm, ""))
    except GpuLeasedElsewhere as refused:
        results.put(("refused", vm, str(refused)))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(("error", vm, f"{type(exc).__name__}: {exc}"))
    finally:
        bus.close()


@pytest.mark.race
@pytest.mark.slow
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_eight_processes_one_gpu_one_winner(tmp_path: Path, round_: int, store_backend: str) -> None:
    state_dir = tmp_path / "state"
    with opened(state_dir) as setup:
        vms = record_rivals(setup, PROCESSES)

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])  # read when the forkserver starts: the first round
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    host_root = build_tree(tmp_path / "race-host", GPU_CARD)
    store_url = os.environ.get("AI_HOW_EVENT_STORE")
    workers = [ctx.Process(target=_contender, args=(str(state_dir), store_url, str(host_root), vm, barrier, results))
               for vm in vms]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0

    errors = [o for o in outcomes if o[0] == "error"]
    assert not errors, errors
    winners = [vm for kind, vm, _ in outcomes if kind == "won"]
    assert len(winners) == 1, outcomes
    refusals = [message for kind, _, message in outcomes if kind == "refused"]
    assert len(refusals) == PROCESSES - 1
    assert all(f"GPU 0000:01:00.0 is leased to {winners[0]}" in m for m in refusals), refusals

    with opened(state_dir) as bus:
        log = list(bus.store.iter_log())
        views = bus.dependencies["views"].load()
        folded = topology_at(bus.store)
    assert views.position == log[-1].position, "the processes left the views behind the log"
    assert [views.table(t) for t in Topology.TABLES] == [folded.table(t) for t in Topology.TABLES]
    leases = [e for e in log if e.event_type == "GpuLeased"]
    assert [e.payload["vm"] for e in leases] == winners
    positions = [e.position for e in log]
    assert positions == sorted(set(positions)), "the log has a gap or a duplicate"
