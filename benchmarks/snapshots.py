"""`ai-how snapshot create` and `restore` against what an operator does by hand with virsh.

    sudo .venv/bin/python benchmarks/snapshots.py [--rounds 3] [--image hpc-base]

Boots the minimal cluster (a controller and two computes, each 1 vCPU and 1 GiB, real Debian
guests with their guest agent, an isolated network; its own cluster `bench-snap`), waits until its
guests are idle (so that nothing left of their boot runs beside what is measured; the wait is
printed), then:
  - create, ROUNDS times each, alternating: `ai-how snapshot create` of the whole cluster (the
    guests frozen together, one overlay each), against `virsh snapshot-create-as --disk-only
    --quiesce --atomic --no-metadata` of the same VMs one by one (each guest frozen on its own).
    Each snapshot is deleted again (`ai-how snapshot delete`) so the chains stay as long. Also
    printed: the command's own time for the snapshot (its JSON's ``seconds``: without the
    interpreter's start, the store's opening and the reconcile), and what a command that only
    reads (`snapshot list`) takes, for what starting a process costs here;
  - restore, once each: `ai-how snapshot restore` (stop, disks back, start, guests answering
    SSH) against `ai-how hpc stop` + `hpc start` of the same cluster (the same boots).
Medians, and the ratios ai-how/by hand (the goal for create: at most 1.3). The cluster is
destroyed at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

AI_HOW = str(Path(sys.executable).parent / "ai-how")
NAME = "bench-snap"
VMS = [f"{NAME}-controller", f"{NAME}-compute-01", f"{NAME}-compute-02"]
URI = "qemu:///system"


def ai_how(*args: str) -> float:
    return ai_how_said(*args)[0]


def ai_how_said(*args: str) -> tuple[float, str]:
    """(seconds, what it printed)."""
    began = time.monotonic()
    out = subprocess.run([AI_HOW, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    if out.returncode != 0:
        sys.exit(f"ai-how {' '.join(args)}: exit {out.returncode}\n{out.stdout}\n{out.stderr}")
    return time.monotonic() - began, out.stdout


def top(vm: str) -> str:
    for line in subprocess.run(["virsh", "-c", URI, "domblklist", vm, "--details"], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        words = line.split()
        if words[:2] == ["file", "disk"]:
            return words[3]
    raise SystemExit(f"{vm} has no disk")


def by_hand(round_: int) -> float:
    """virsh, one VM after the other, each frozen through its own agent; then the layer folded back."""
    began = time.monotonic()
    made = {}
    for vm in VMS:
        below = top(vm)
        made[vm] = (below, str(Path(below).parent / f"{vm}@virsh{round_}.qcow2"))
        subprocess.run(["virsh", "-c", URI, "snapshot-create-as", vm, f"virsh{round_}", "--disk-only", "--quiesce",
                        "--atomic", "--no-metadata", "--diskspec", f"vda,snapshot=external,file={made[vm][1]}",
                        "--diskspec", "sda,snapshot=no"], check=True, capture_output=True)
    seconds = time.monotonic() - began
    for vm, (below, overlay) in made.items():  # not timed: back to one layer, as before
        subprocess.run(["virsh", "-c", URI, "blockcommit", vm, "vda", "--active", "--pivot", "--wait",
                        "--base", below, "--top", overlay], check=True, capture_output=True)
        Path(overlay).unlink()
    return seconds


def cpu_seconds(vm: str) -> float:
    out = subprocess.run(["virsh", "-c", URI, "domstats", "--cpu-total", vm], capture_output=True, text=True,
                         check=True).stdout
    return next(int(line.split("=", 1)[1]) for line in out.split() if line.startswith("cpu.time=")) / 1e9


def settle(most_s: float = 600.0, every_s: float = 10.0, idle: float = 0.05) -> float:
    """Seconds until every guest used less than ``idle`` of a core over ``every_s`` (at most ``most_s``)."""
    began = time.monotonic()
    before = {vm: cpu_seconds(vm) for vm in VMS}
    while time.monotonic() - began < most_s:
        time.sleep(every_s)
        now = {vm: cpu_seconds(vm) for vm in VMS}
        if all(now[vm] - before[vm] < idle * every_s for vm in VMS):
            break
        before = now
    return time.monotonic() - began


def config(image: str) -> dict:
    node = {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 4}
    hpc = {"name": NAME, "base_image": image,
           "network": {"subnet": "10.250.78.0/24", "bridge": "aihowbs", "forward": "none"},
           "controller": {**node, "ip": "10.250.78.10"},
           "compute_nodes": [{**node, "ip": "10.250.78.11"}, {**node, "ip": "10.250.78.12"}],
           "storage": {"shared": {"enabled": False}}}
    return {"version": "1.0", "metadata": {"name": NAME}, "clusters": {"hpc": hpc}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image", default="hpc-base")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.yaml"
        path.write_text(yaml.safe_dump(config(args.image)))
        ai_how("image", "build", args.image)
        try:
            print(f"boot: {ai_how('hpc', 'start', str(path)):.0f} s (3 guests)", flush=True)
            print(f"idle: {settle():.0f} s later (each guest below 5 % of a core over 10 s)", flush=True)
            ours, own, theirs, reads = [], [], [], []
            for i in range(args.rounds):
                theirs.append(by_hand(i))
                seconds, said = ai_how_said("snapshot", "create", NAME, "--name", f"bench{i}", "--json")
                ours.append(seconds)
                own.append(json.loads(said)[0]["seconds"])
                ai_how("snapshot", "delete", NAME, f"bench{i}", "--yes")
                reads.append(ai_how("snapshot", "list", NAME))
            ai_how("snapshot", "create", NAME, "--name", "restore-point")
            restore = ai_how("snapshot", "restore", NAME, "restore-point", "--yes")
            restart = ai_how("hpc", "stop", str(path)) + ai_how("hpc", "start", str(path))
        finally:
            subprocess.run([AI_HOW, "hpc", "destroy", str(path), "--yes", "--purge-data"], capture_output=True)
    create, manual = statistics.median(ours), statistics.median(theirs)
    work, read = statistics.median(own), statistics.median(reads)
    print(f"create, median of {args.rounds}: ai-how snapshot create {create:.2f} s, virsh one by one "
          f"{manual:.2f} s; ratio {create / manual:.2f} (goal <= 1.3)")
    print(f"  of which the snapshot itself (freeze, take, thaw, record; as the command reports it) {work:.2f} s: "
          f"ratio {work / manual:.2f}; a command that only reads (snapshot list) takes {read:.2f} s here")
    print(f"restore: ai-how snapshot restore {restore:.0f} s, hpc stop + hpc start {restart:.0f} s; "
          f"ratio {restore / restart:.2f}")


if __name__ == "__main__":
    main()
