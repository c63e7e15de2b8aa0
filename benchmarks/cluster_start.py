"""Cluster and VM start times on a real libvirtd with QEMU.

    sudo .venv/bin/python benchmarks/cluster_start.py [--rounds 5]

1. Wall time of `ai-how hpc start` for a 1-VM and a 4-VM cluster: first start (creates
   network, pool, disks, domains) and start from stopped. VMs start in parallel, so the
   4-VM/1-VM ratio must stay far below 4.
2. `ai-how vm start NAME` against `virsh start NAME` of the same defined domain (each
   followed by a forced stop); the ratio is what the tool adds: Python start-up, the event
   store, the GPU leases and the saga.
Medians over the rounds, in one run, so the ratios compare like with like.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

URI = "qemu:///system"
AI_HOW = str(Path(sys.executable).parent / "ai-how")


def sh(*args: str, env: dict | None = None) -> float:
    start = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return elapsed


def cluster_config(folder: Path, vms: int, tag: str, octet: int) -> tuple[Path, str, list[str]]:
    name = f"bench{vms}-{tag}"
    node = {"cpu_cores": 1, "memory_gb": 0.25, "disk_gb": 1}
    hpc = {"name": name, "network": {"subnet": f"10.{octet}.9.0/24", "bridge": f"aihowb{vms}{tag}", "forward": "none"},
           "controller": {**node, "ip": f"10.{octet}.9.10"},
           "compute_nodes": [{**node, "ip": f"10.{octet}.9.{11 + i}"} for i in range(vms - 1)]}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"clusters": {"hpc": hpc}}))
    names = [f"{name}-controller"] + [f"{name}-compute-{i + 1:02d}" for i in range(vms - 1)]
    return path, name, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    folder = Path(tempfile.mkdtemp(prefix="ai-how-bench-"))
    env = {**os.environ, "AI_HOW_STATE_DIR": str(folder / "state"), "AI_HOW_LIBVIRT_URI": URI,
           "AI_HOW_POOL_ROOT": "/var/lib/libvirt/images/ai-how-bench"}
    tag = secrets.token_hex(2)
    results: dict[str, list[float]] = {}
    configs = {n: cluster_config(folder, n, tag, 180 + n) for n in (1, 4)}
    try:
        for n, (config, _, _) in configs.items():
            results[f"first start, {n} VM"] = [sh(AI_HOW, "hpc", "start", str(config), env=env)]
            sh(AI_HOW, "hpc", "stop", str(config), "--timeout", "0", env=env)
        for _ in range(rounds):
            for n, (config, _, _) in configs.items():
                results.setdefault(f"start from stopped, {n} VM", []).append(
                    sh(AI_HOW, "hpc", "start", str(config), env=env))
                sh(AI_HOW, "hpc", "stop", str(config), "--timeout", "0", env=env)
        vm = configs[1][2][0]
        for _ in range(rounds):
            results.setdefault("ai-how vm start", []).append(sh(AI_HOW, "vm", "start", vm, env=env))
            sh(AI_HOW, "vm", "stop", vm, "--timeout", "0", env=env)
            results.setdefault("virsh start", []).append(sh("virsh", "-c", URI, "start", vm))
            sh("virsh", "-c", URI, "destroy", vm)
    finally:
        for config, _, _ in configs.values():
            subprocess.run([AI_HOW, "hpc", "destroy", str(config), "--yes", "--timeout", "0"], env=env,
                           capture_output=True)
    median = {k: statistics.median(v) for k, v in results.items()}
    for key, value in median.items():
        print(f"{key:32s} {value:7.2f} s  (n={len(results[key])})")
    print(f"ratio first start 4 VM / 1 VM:        {median['first start, 4 VM'] / median['first start, 1 VM']:.2f}")
    print(f"ratio start from stopped 4 VM / 1 VM: "
          f"{median['start from stopped, 4 VM'] / median['start from stopped, 1 VM']:.2f}")
    print(f"ratio ai-how vm start / virsh start:  {median['ai-how vm start'] / median['virsh start']:.2f}")


if __name__ == "__main__":
    main()
