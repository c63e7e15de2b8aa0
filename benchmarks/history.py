"""Read-side cost against the length of history.

    .venv/bin/python benchmarks/history.py [--sizes 1000 10000 100000]

For each size, a store is built with that many events of a realistic mix: both clusters
of examples/multi-gpu-clusters.yaml provisioned through the bus, then VMs started, leased,
stopped and released in turn (the shared GPU moving between training and serving), recorded
through the real aggregates and saved in batches. The views are caught up once, as the
command that wrote the last events would. Then, each as a separate `ai-how` process:

* `ai-how topology --json`  wall time (median of 5): goal 100k/1k <= 1.2
* `ai-how audit replay`     events/s: goal >= 20,000/s
* `ai-how audit log --json` lines/s

All figures come from one run, so their ratios compare like with like.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ai_how.app.bootstrap import bootstrap  # noqa: E402
from ai_how.app.config.loader import load_config  # noqa: E402
from ai_how.app.config.plan import plan_clusters  # noqa: E402
from ai_how.domain.commands import ProvisionCluster  # noqa: E402
from ai_how.domain.ids import gpu_id, vm_id  # noqa: E402

AI_HOW = str(Path(sys.executable).parent / "ai-how")
LIBVIRT = "test:///default"  # an empty test host: reconciliation finds nothing to change
# (VM, its card): the shared card goes back and forth between training and serving
ROTATION = [("hpc-cluster-compute-01", "0000:01:00.0"), ("cloud-cluster-gpu-worker-01", "0000:01:00.0"),
            ("hpc-cluster-compute-02", "0000:41:00.0"), ("cloud-cluster-cpu-worker-01", None)]
BATCH = 50  # cycles per save


def build(state_dir: Path, events: int) -> int:
    bus = bootstrap(state_dir, libvirt_uri=LIBVIRT)
    for cluster in plan_clusters(load_config(REPO / "examples" / "multi-gpu-clusters.yaml")):
        bus.handle(ProvisionCluster(cluster.plan))
    store = bus.store
    cycle = 0
    while store.max_position() < events:
        touched: dict[object, object] = {}
        for _ in range(BATCH):
            name, card = ROTATION[cycle % len(ROTATION)]
            vm = touched.setdefault(name, store.get(vm_id(name)))
            gpu = touched.setdefault(card, store.get(gpu_id(card))) if card else None
            vm.request_start()
            if gpu:
                gpu.lease(name)
            vm.mark_started()
            vm.request_stop(timeout=60)
            vm.mark_stopped()
            if gpu:
                gpu.release(name, "vm stopped (requested)")
            cycle += 1
        store.save(*touched.values())
    bus.dependencies["live_topology"].catch_up()
    return store.max_position()


def run(state_dir: Path, *args: str) -> tuple[float, str]:
    env = {**os.environ, "AI_HOW_STATE_DIR": str(state_dir), "AI_HOW_LIBVIRT_URI": LIBVIRT}
    start = time.perf_counter()
    out = subprocess.run([AI_HOW, *args], env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, out.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        state_dir = Path(tempfile.mkdtemp(prefix=f"ai-how-history-{size}-")) / "state"
        started = time.perf_counter()
        events = build(state_dir, size)
        built = time.perf_counter() - started
        topology = statistics.median(run(state_dir, "topology", "--json")[0] for _ in range(args.repeat))
        replay = json.loads(run(state_dir, "audit", "replay", "--json")[1])
        log_wall, log_out = run(state_dir, "audit", "log", "--json")
        lines = log_out.count("\n")
        rows.append((size, events, built, topology, replay["events_per_second"], lines / log_wall))
        print(f"built {events} events in {built:.1f} s", file=sys.stderr)
    print(f"{'events':>8} {'topology --json':>16} {'replay events/s':>16} {'audit log lines/s':>18}")
    for _, events, _, topology, replay_rate, log_rate in rows:
        print(f"{events:>8} {topology * 1000:>13.0f} ms {replay_rate:>16,.0f} {log_rate:>18,.0f}")
    if len(rows) > 1:
        print(f"topology wall time {rows[-1][1]}/{rows[0][1]} events: {rows[-1][3] / rows[0][3]:.2f}")


if __name__ == "__main__":
    main()
