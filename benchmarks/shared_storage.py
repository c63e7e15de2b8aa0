"""The HPC cluster's shared storage against a guest's own disk, from inside a running guest.

    .venv/bin/python benchmarks/shared_storage.py [--vm mini-hpc-compute-01] [--mib 1024] [--rounds 3]

Runs on a started HPC cluster whose VMs boot an image (e.g. after `bash scripts/demo.sh`).
In the guest, over `ai-how vm ssh`: write MIB MiB with dd (fsync before it ends) to the
shared storage (/shared/USER) and to the guest's own disk (/var/tmp), then read each back
after dropping the guest's page cache. Medians over the rounds, in one run; the ratios
shared/own say what the shared folder costs against the VM's disk. The backend is the
cluster's (storage.shared.backend): virtiofs (a host folder) or nfs (the controller's disk over
the cluster network; run it on a compute); the output names the filesystem it measured. Both
files are removed afterwards.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

AI_HOW = str(Path(sys.executable).parent / "ai-how")
RATE = re.compile(r"copied, ([0-9.]+) s")


def in_guest(vm: str, script: str) -> str:
    out = subprocess.run([AI_HOW, "vm", "ssh", vm, "--", "sh", "-c", script], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=1800)
    if out.returncode != 0:
        sys.exit(f"in {vm}: {script}: exit {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out.stdout + out.stderr


def seconds(vm: str, script: str) -> float:
    found = RATE.findall(in_guest(vm, script))
    if not found:
        sys.exit(f"dd said no time for: {script}")
    return float(found[-1])


def measure(vm: str, folder: str, mib: int) -> tuple[float, float]:
    """(write s, read s) of MIB MiB in ``folder``."""
    target = f"{folder}/aihow-bench.bin"
    wrote = seconds(vm, f"dd if=/dev/zero of={target} bs=1M count={mib} conv=fsync 2>&1")
    read = seconds(vm, f"sync; echo 3 | sudo tee /proc/sys/vm/drop_caches >/dev/null; "
                       f"dd if={target} of=/dev/null bs=1M 2>&1")
    in_guest(vm, f"rm -f {target}")
    return wrote, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vm", default="mini-hpc-compute-01")
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    user = in_guest(args.vm, "id -un").strip()
    shared = f"/shared/{user}"
    in_guest(args.vm, f"test -w {shared}")  # an NFS compute mounts it on this first use
    backend = in_guest(args.vm, f"findmnt -no FSTYPE -T {shared}").split()[-1]
    runs: dict[str, list[tuple[float, float]]] = {"shared": [], "own": []}
    for _ in range(args.rounds):  # interleaved, so that drift on a noisy host hits both alike
        runs["shared"].append(measure(args.vm, shared, args.mib))
        runs["own"].append(measure(args.vm, "/var/tmp", args.mib))
    medians = {k: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v)) for k, v in runs.items()}
    print(f"{args.mib} MiB from {args.vm}, shared storage on {backend}, median of {args.rounds} rounds:")
    for where, (wrote, read) in medians.items():
        print(f"  {where:6} write {wrote:6.1f} s ({args.mib / wrote:6.0f} MiB/s)   read {read:6.1f} s "
              f"({args.mib / read:6.0f} MiB/s)")
    (sw, sr), (ow, orr) = medians["shared"], medians["own"]
    print(f"ratio shared/own (time): write {sw / ow:.2f}, read {sr / orr:.2f}")


if __name__ == "__main__":
    main()
