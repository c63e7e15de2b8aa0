"""A guest's CPU-bound and memory-bound work, plain and tuned (pinned vCPUs, 2 MiB hugepages).

    sudo .venv/bin/python benchmarks/vm_tuning.py [--rounds 3] [--mib 256] [--image hpc-base]

Boots one Debian guest (1 vCPU, 1 GiB, an isolated network, its own cluster `bench-tuning`)
twice, one after the other on the same host: plain, then with `performance.cpu_pinning` and
`enable_hugepages` (applied by `hpc start --redefine`; the 512 pages are reserved for the run
and given back). In each boot, over `ai-how vm ssh`, ROUNDS rounds of:
  - CPU-bound: SHA-256 of MIB MiB held in memory (Python's hashlib, timed in the guest);
  - memory-bound: copying those MIB MiB from tmpfs to tmpfs (dd, 1 MiB blocks).
Medians per boot, and the ratios tuned/plain (below 1: the tuning helps). The accelerator the
guest ran on (kvm or tcg, from its start profile) is printed beside them: under TCG QEMU
emulates every instruction, so pinning and hugepages move the numbers little; on KVM they are
what a VFIO guest is tuned for. The cluster is destroyed at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

AI_HOW = str(Path(sys.executable).parent / "ai-how")
NAME, VM = "bench-tuning", "bench-tuning-controller"
POOL = Path("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")
SECONDS = re.compile(r"copied, ([0-9.]+) s")


def ai_how(*args: str, check: bool = True) -> str:
    out = subprocess.run([AI_HOW, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    if check and out.returncode != 0:
        sys.exit(f"ai-how {' '.join(args)}: exit {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out.stdout + out.stderr


def in_guest(script: str) -> str:
    return ai_how("vm", "ssh", VM, "--", "sh", "-c", script)


def config(tuned: bool, image: str) -> dict:
    hpc = {"name": NAME, "base_image": image, "compute_nodes": [],
           "network": {"subnet": "10.250.77.0/24", "bridge": "aihowbt", "forward": "none"},
           "controller": {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 4, "ip": "10.250.77.10"}}
    if tuned:
        hpc["hardware"] = {"acceleration": {"performance": {"cpu_pinning": True, "enable_hugepages": True,
                                                            "hugepage_size": "2M"}}}
    return {"version": "1.0", "metadata": {"name": NAME}, "clusters": {"hpc": hpc}}


def rounds(count: int, mib: int) -> tuple[float, float]:
    """Medians (CPU s, memory s) over ``count`` rounds in the running guest."""
    in_guest(f"dd if=/dev/urandom of=/dev/shm/a bs=1M count={mib} 2>/dev/null")
    cpu, memory = [], []
    for _ in range(count):
        timed = in_guest("python3 -c \"import hashlib, time; d = open('/dev/shm/a', 'rb').read(); "
                         "t = time.perf_counter(); hashlib.sha256(d).digest(); print(time.perf_counter() - t)\"")
        cpu.append(float(timed.split()[-1]))
        copied = SECONDS.findall(in_guest("dd if=/dev/shm/a of=/dev/shm/b bs=1M 2>&1; rm -f /dev/shm/b"))
        memory.append(float(copied[-1]))
    in_guest("rm -f /dev/shm/a")
    return statistics.median(cpu), statistics.median(memory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--image", default="hpc-base")
    args = parser.parse_args()
    before = int(POOL.read_text())
    results: dict[str, tuple[float, float, str, str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        try:
            POOL.write_text(str(before + 512))
            for label, tuned in (("plain", False), ("tuned", True)):
                path.write_text(yaml.safe_dump(config(tuned, args.image)))
                ai_how("hpc", "start", str(path), *(["--redefine"] if tuned else []))
                status = json.loads(ai_how("vm", "status", VM, "--json"))
                pins = status.get("pins") or {}
                cpu, memory = rounds(args.rounds, args.mib)
                results[label] = (cpu, memory, status["guest"], f"vCPU on {pins['cpus']}" if pins else "floating")
                ai_how("hpc", "stop", str(path), "--timeout", "30")
        finally:
            ai_how("hpc", "destroy", str(path), "--yes", "--timeout", "10", check=False)
            POOL.write_text(str(before))
    print(f"{args.mib} MiB in the guest, median of {args.rounds} rounds per boot:")
    for label, (cpu, memory, guest, pins) in results.items():
        print(f"  {label:5}  CPU-bound {cpu:7.2f} s   memory-bound {memory:7.2f} s   guest {guest}, {pins}")
    (pc, pm, *_), (tc, tm, *_) = results["plain"], results["tuned"]
    print(f"ratio tuned/plain (time): CPU-bound {tc / pc:.2f}, memory-bound {tm / pm:.2f}")


if __name__ == "__main__":
    main()
