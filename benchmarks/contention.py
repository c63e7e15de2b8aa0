"""Many operators leasing a few GPUs at once, on each store backend.

    .venv/bin/python benchmarks/contention.py [--processes 16] [--cycles 50] [--gpus 4]
                                              [--backends sqlite postgres] [--rounds 3]

Each process is an operator with a VM of its own; the VMs share the GPUs (VM i uses GPU
i mod --gpus). Behind a barrier every process runs --cycles of: lease its GPUs through the
bus (bound to vfio-pci, views caught up), then release them. A refusal must name the
holder. Afterwards `audit verify` must be clean, the log must hold exactly the leases
and releases the processes report, and the views the processes kept must equal a fold of
the whole log; the script exits 1 if any run breaks that.

Each round runs three side by side: the bus on a fake sysfs of each process's own, the bus
on a host whose cards move at once ("instant": the bus's own cost, without the adapter's
file writes), and a plain eventsourcing script making the same aggregate saves (lease,
binding record, release, return record) without the bus, its handlers or views. The ratios
of commands/s to the plain script are given per round and as the median over --rounds.
PostgreSQL needs AI_HOW_TEST_POSTGRES or a local one (scripts/postgres-up.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eventsourcing.persistence import RecordConflictError  # noqa: E402

from ai_how.app.bootstrap import bootstrap, open_store, store_settings  # noqa: E402
from ai_how.app.config.loader import parse_config  # noqa: E402
from ai_how.app.config.plan import plan_clusters  # noqa: E402
from ai_how.app.readside.audit import verify  # noqa: E402
from ai_how.app.readside.projection import Topology  # noqa: E402
from ai_how.app.readside.views import topology_at  # noqa: E402
from ai_how.domain.commands import LeaseGpus, ProvisionCluster, ReleaseGpus  # noqa: E402
from ai_how.domain.errors import GpuLeasedElsewhere  # noqa: E402
from ai_how.domain.ids import gpu_id  # noqa: E402
from tests.fakes.sysfs import FakeDevice, FakeKernel, build_tree  # noqa: E402

# The fake sysfs trees go to memory, as the kernel's sysfs is: on this disk each fake write
# costs ~0.5 ms of file system work that a real sysfs write does not.
MEMORY_FS = "/dev/shm"
POSTGRES = os.environ.get("AI_HOW_TEST_POSTGRES", "postgresql://aihow:aihow@127.0.0.1:5432/aihow")


def card(index: int) -> str:
    return f"0000:{index + 1:02x}:00.0"


def operator_config(index: int, gpus: int) -> dict:
    return {"clusters": {"hpc": {
        "name": f"op-{index:02d}",
        "network": {"subnet": f"10.{100 + index}.0.0/24", "bridge": f"br-op{index}"},
        "controller": {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 1, "ip": f"10.{100 + index}.0.10"},
        "compute_nodes": [{"cpu_cores": 1, "memory_gb": 1, "disk_gb": 1, "ip": f"10.{100 + index}.0.11",
                           "pcie_passthrough": {"enabled": True, "devices": [
                               {"pci_address": card(index % gpus), "device_type": "gpu", "vendor_id": "10de",
                                "device_id": "2684"}]}}]}}}


def prepare(state_dir: Path, processes: int, gpus: int) -> list[str]:
    bus = bootstrap(state_dir)
    try:
        for index in range(processes):
            for cluster in plan_clusters(parse_config(operator_config(index, gpus), env={})):
                bus.handle(ProvisionCluster(cluster.plan))
    finally:
        bus.close()
    return [f"op-{i:02d}-compute-01" for i in range(processes)]


def _ready(open_it, barrier):
    """Open the store, then wait for the others; a failure breaks the barrier for everyone."""
    try:
        opened = open_it()
        barrier.wait(timeout=120)
        return opened
    except BaseException:
        barrier.abort()
        raise


class InstantHost:
    """A PciHost whose cards move to vfio-pci and back at once: the bus and views alone."""

    def function(self, address: str) -> None:
        return None

    def iommu_group(self, group: int) -> list[str]:
        return []

    def bind_to_vfio(self, addresses: list[str]) -> dict[str, str | None]:
        return {a: "nvidia" for a in addresses}

    def restore_drivers(self, originals: dict[str, str | None]) -> None:
        return None

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def bus_worker(state_dir: str, host: str | None, vm: str, cycles: int, barrier, results) -> None:
    pci_host = FakeKernel(Path(host)) if host else InstantHost()
    bus = _ready(lambda: bootstrap(state_dir, pci_host=pci_host), barrier)
    wins = refusals = unclear = commands = 0
    try:
        for _ in range(cycles):
            commands += 1
            try:
                bus.handle(LeaseGpus(vm))
            except GpuLeasedElsewhere as refused:
                refusals += 1
                unclear += refused.holder not in str(refused)
                continue
            wins += 1
            commands += 1
            bus.handle(ReleaseGpus(vm))
    finally:
        bus.close()
    results.put((wins, refusals, unclear, commands))


def _save(app, address: str, change) -> bool:
    """Load, change, save; a lost race is tried again. False if the change is refused."""
    while True:
        gpu = app.repository.get(gpu_id(address))
        try:
            change(gpu)
        except GpuLeasedElsewhere:
            return False
        try:
            app.save(gpu)
            return True
        except RecordConflictError:
            continue


def plain_worker(settings: dict, vm: str, address: str, cycles: int, barrier, results) -> None:
    app = _ready(lambda: open_store(Path("."), os.environ, settings).app, barrier)
    wins = refusals = commands = 0
    originals = {address: "nvidia"}
    for _ in range(cycles):
        commands += 1
        if not _save(app, address, lambda g: g.lease(vm)):
            refusals += 1
            continue
        wins += 1
        commands += 1
        _save(app, address, lambda g: g.record_vfio_binding(originals))
        _save(app, address, lambda g: g.release(vm))
        _save(app, address, lambda g: g.record_back_on_host())
    app.close()
    results.put((wins, refusals, 0, commands))


def run(backend: str, processes: int, cycles: int, gpus: int, plain: bool, binding: str = "fake-sysfs",
        store_url: str | None = None) -> dict:
    """One contended run on a fresh store (``store_url``: a PostgreSQL one to use instead),
    removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="ai-how-contention-"))
    trees = Path(tempfile.mkdtemp(prefix="ai-how-sysfs-", dir=MEMORY_FS if os.access(MEMORY_FS, os.W_OK) else None))
    schema = None
    if backend == "postgres":
        schema = None if store_url else f"bench_{secrets.token_hex(4)}"
        os.environ["AI_HOW_EVENT_STORE"] = store_url or f"{POSTGRES}?schema={schema}"
    else:
        os.environ.pop("AI_HOW_EVENT_STORE", None)
    try:
        return _contend(folder / "state", trees, processes, cycles, gpus, plain, binding) | {"backend": backend}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(trees, ignore_errors=True)
        if schema:
            _drop_schema(schema)


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _contend(state_dir: Path, trees: Path, processes: int, cycles: int, gpus: int, plain: bool, binding: str) -> dict:
    vms = prepare(state_dir, processes, gpus)
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes + 1), ctx.Queue()
    if plain:
        settings = store_settings(state_dir, os.environ)
        workers = [ctx.Process(target=plain_worker, args=(settings, vm, card(i % gpus), cycles, barrier, results))
                   for i, vm in enumerate(vms)]
    else:
        devices = [FakeDevice(card(g), "10de", "2684", "030000", "nvidia", 10 + g) for g in range(gpus)]
        hosts = [str(build_tree(trees / f"host-{i}", devices)) if binding == "fake-sysfs" else None
                 for i in range(processes)]
        workers = [ctx.Process(target=bus_worker, args=(str(state_dir), hosts[i], vm, cycles, barrier, results))
                   for i, vm in enumerate(vms)]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    outcomes = [results.get(timeout=600) for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join(timeout=30)
    bus = bootstrap(state_dir)
    try:
        checked, violations = verify(bus.store)
        leases = sum(1 for e in bus.store.iter_log(event_types=["GpuLeased"]))
        releases = sum(1 for e in bus.store.iter_log(event_types=["GpuReleased"]))
        views, folded = bus.dependencies["views"].load(), topology_at(bus.store)
        views_right = None if plain else all(views.table(t) == folded.table(t) for t in Topology.TABLES)
    finally:
        bus.close()
    wins = sum(o[0] for o in outcomes)
    commands = sum(o[3] for o in outcomes)
    path = "plain eventsourcing" if plain else f"ai-how bus ({binding})"
    return {"path": path, "commands": commands,
            "seconds": elapsed, "commands_per_s": commands / elapsed, "wins": wins,
            "refusals": sum(o[1] for o in outcomes), "unclear_refusals": sum(o[2] for o in outcomes),
            "events": checked, "violations": [str(v) for v in violations],
            "lost_events": (wins - leases) + (wins - releases), "views_right": views_right}


VIEWS_SAID = {None: "none kept", True: "match the log", False: "WRONG"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--gpus", type=int, default=4)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the three runs, interleaved; ratios are the medians over rounds")
    args = parser.parse_args()
    print(f"{args.processes} processes x {args.cycles} cycles over {args.gpus} GPUs, {args.rounds} rounds")
    clean = True
    for backend in args.backends:
        ratios: dict[str, list[float]] = {"fake-sysfs": [], "instant": []}
        for _ in range(args.rounds):
            sysfs = run(backend, args.processes, args.cycles, args.gpus, plain=False)
            instant = run(backend, args.processes, args.cycles, args.gpus, plain=False, binding="instant")
            plain = run(backend, args.processes, args.cycles, args.gpus, plain=True)
            for r in (sysfs, instant, plain):
                clean &= (not r["violations"] and not r["lost_events"] and not r["unclear_refusals"]
                          and r["views_right"] is not False)
                print(f"{r['backend']:8} {r['path']:27} {r['commands']:5} commands in {r['seconds']:6.2f} s = "
                      f"{r['commands_per_s']:7.1f}/s  leases {r['wins']:4}  refusals {r['refusals']:4} "
                      f"(unclear {r['unclear_refusals']})  verify: {len(r['violations'])} violations  "
                      f"lost events: {r['lost_events']}  views: "
                      f"{VIEWS_SAID[r['views_right']]}")
            ratios["fake-sysfs"].append(sysfs["commands_per_s"] / plain["commands_per_s"])
            ratios["instant"].append(instant["commands_per_s"] / plain["commands_per_s"])
        for binding, values in ratios.items():
            shown = " ".join(f"{v:.2f}" for v in values)
            print(f"{backend:8} ratio ai-how bus ({binding}) / plain: median {statistics.median(values):.2f} "
                  f"(rounds: {shown})")
    if not clean:
        sys.exit("a run broke the rule, lost an event, refused without naming the holder or left wrong views")


if __name__ == "__main__":
    main()
