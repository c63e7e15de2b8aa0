"""Deploying SLURM on real guests, as ratios measured side by side in one run.

    sudo .venv/bin/python benchmarks/deploy.py

On the minimal example's three Debian guests (TCG, isolated network), one fresh cluster:

1. From a fresh ``ai-how hpc start --deploy`` to the first successful ``srun -N2 hostname``
   (reported).
2. A second deploy of the unchanged cluster against the first (goal ≤ 0.35×).
3. A full deploy (``--full``: every task on every node, nothing to change) with ansible.cfg's
   pipelining and ControlPersist, against the same with Ansible's defaults (no pipelining,
   a new SSH connection per task), alternated.

Needs root, libvirtd (scripts/libvirt-up.sh) and the image tools. Cleans up after itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
AI_HOW = str(Path(sys.executable).parent / "ai-how")
# Ansible's defaults, with a longer connection timeout: without pipelining a TCG guest here
# missed the 10 s privilege-escalation prompt deadline (the run of 2026-12-01 failed on it).
ANSIBLE_DEFAULTS = {"ANSIBLE_PIPELINING": "False", "ANSIBLE_SSH_ARGS": "-o ControlMaster=no", "ANSIBLE_TIMEOUT": "60"}


def run(args: list[str], env: dict[str, str], must: bool = True) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([AI_HOW, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if out.returncode != 0 and not must:
        print(f"ai-how {' '.join(args)} failed after {elapsed:.0f} s: {out.stderr.strip().splitlines()[-2:]}")
        return elapsed, ""
    if out.returncode != 0:
        sys.exit(f"ai-how {' '.join(args)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return elapsed, out.stdout


def config(folder: Path, tag: str) -> Path:
    doc = yaml.safe_load((REPO / "examples" / "minimal.yaml").read_text())
    hpc = doc["clusters"]["hpc"]
    octet = 200 + int(tag, 16) % 50
    hpc["name"] = f"bd-{tag}"
    hpc["network"] = {"subnet": f"10.{octet}.11.0/24", "bridge": f"aihowbd{tag}", "forward": "none"}
    for i, vm in enumerate([hpc["controller"], *hpc["compute_nodes"]]):
        vm["ip"] = f"10.{octet}.11.{10 + i}"
    path = folder / "cluster.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="full deploys of each kind, alternated")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ai-how-bench-deploy-"))
    env = {**os.environ, "AI_HOW_STATE_DIR": str(folder / "state"), "AI_HOW_LIBVIRT_URI": "qemu:///system",
           "AI_HOW_POOL_ROOT": "/var/lib/libvirt/images/ai-how-bench",
           "AI_HOW_IMAGE_DIR": os.environ.get("AI_HOW_IMAGE_DIR", "/var/cache/ai-how/images"),
           "AI_HOW_DOMAIN_TYPE": os.environ.get("AI_HOW_DOMAIN_TYPE", "qemu")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    path = config(folder, os.urandom(2).hex())
    run(["image", "build", "hpc-base"], env)
    try:
        began = time.perf_counter()
        run(["hpc", "start", str(path), "--deploy"], env)
        run(["hpc", "ssh", "--config", str(path), "--", "srun", "-N2", "hostname"], env)
        to_srun = time.perf_counter() - began
        print(f"fresh 'hpc start --deploy' to the first srun: {to_srun:.0f} s", flush=True)
        runs = [json.loads(line) for line in run(["audit", "log", "--json", "--type", "ClusterDeployed"], env)[1]
                .splitlines()]
        first = runs[0]["payload"]["seconds"]
        second_wall, out = run(["hpc", "deploy", str(path), "--json"], env)
        second = json.loads(out)["seconds"]
        tuned, defaults = [], []
        for _ in range(args.rounds):
            tuned.append(json.loads(run(["hpc", "deploy", str(path), "--full", "--json"], env)[1])["seconds"])
            seconds, out = run(["hpc", "deploy", str(path), "--full", "--json"], {**env, **ANSIBLE_DEFAULTS}, must=False)
            defaults.append(json.loads(out)["seconds"] if out else float("inf"))
    finally:
        subprocess.run([AI_HOW, "hpc", "destroy", str(path), "--yes", "--timeout", "0"], env=env,
                       capture_output=True, stdin=subprocess.DEVNULL)
    tuned_s, defaults_s = sorted(tuned)[len(tuned) // 2], sorted(defaults)[len(defaults) // 2]
    print(f"first deploy {first:.0f} s, second (unchanged) {second:.0f} s ({second_wall:.0f} s with the CLI): "
          f"{second / first:.2f}x (goal <= 0.35x)")
    print(f"full deploy, pipelining + ControlPersist {tuned_s:.0f} s vs Ansible's defaults {defaults_s:.0f} s: "
          f"{tuned_s / defaults_s:.2f}x")


if __name__ == "__main__":
    main()
