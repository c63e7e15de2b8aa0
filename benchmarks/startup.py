"""What starting ai-how costs, as ratios against a baseline measured beside it in one run.

    .venv/bin/python benchmarks/startup.py [--rounds 7] [--no-libvirt]

1. ``ai-how --help`` against a minimal Typer app with the same sub-apps and commands and no
   command bodies (written by this script): what ai-how's own imports add to Typer's.
2. ``ai-how validate examples/minimal-firmware.yaml`` against ``python -c 'import yaml, pydantic'`` plus
   reading the file: what loading, validating and planning a config adds to its libraries.
3. Where a real libvirtd answers on qemu:///system (as root): ``ai-how vm start NAME`` against
   ``virsh start NAME`` of the same defined domain, each followed by a forced stop.

Runs alternate (baseline, ai-how, baseline, ...) and each figure is a median over the rounds.
Goals: --help ≤ 1.3×, vm start ≤ 1.5×.
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

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
AI_HOW = str(Path(PYTHON).parent / "ai-how")
URI = "qemu:///system"


def timed(args: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return elapsed


def command_tree() -> tuple[list[str], dict[str, list[str]]]:
    """ai-how's own commands and sub-apps, read from its click tree (not a hand-kept list)."""
    import typer

    from ai_how.app.cli import app

    group = typer.main.get_command(app)
    top = [name for name, cmd in group.commands.items() if not hasattr(cmd, "commands")]
    subs = {name: list(cmd.commands) for name, cmd in group.commands.items() if hasattr(cmd, "commands")}
    return top, subs


def write_minimal_app(folder: Path) -> Path:
    top, subs = command_tree()
    lines = ["import typer", "", "app = typer.Typer(no_args_is_help=True, add_completion=False)", ""]
    for name in top:
        lines += [f"@app.command({name!r})", f"def cmd_{name.replace('-', '_')}() -> None:",
                  "    '''A command.'''", ""]
    for sub, commands in subs.items():
        var = f"sub_{sub.replace('-', '_')}"
        lines += [f"{var} = typer.Typer(help='A noun.', no_args_is_help=True)",
                  f"app.add_typer({var}, name={sub!r})"]
        for name in commands:
            lines += [f"@{var}.command({name!r})", f"def {var}_{name.replace('-', '_')}() -> None:",
                      "    '''A command.'''", ""]
    lines += ["", "if __name__ == '__main__':", "    app()", ""]
    path = folder / "minimal_typer_app.py"
    path.write_text("\n".join(lines))
    return path


def side_by_side(rounds: int, pairs: dict[str, tuple[list[str], list[str]]],
                 env: dict[str, str]) -> dict[str, tuple[float, float]]:
    results: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
    for baseline, ours in pairs.values():  # a warm-up: bytecode written, files in the page cache
        timed(baseline, env)
        timed(ours, env)
    for _ in range(rounds):
        for key, (baseline, ours) in pairs.items():
            results[key][0].append(timed(baseline, env))
            results[key][1].append(timed(ours, env))
    return {k: (statistics.median(b), statistics.median(o)) for k, (b, o) in results.items()}


def libvirt_up() -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["virsh", "-c", URI, "version"], capture_output=True).returncode == 0


def vm_start_pair(rounds: int, folder: Path, env: dict[str, str]) -> tuple[float, float]:
    tag = secrets.token_hex(2)
    name = f"bstart-{tag}"
    config = folder / f"{name}.yaml"
    node = {"cpu_cores": 1, "memory_gb": 0.25, "disk_gb": 1}
    config.write_text(yaml.safe_dump({"clusters": {"hpc": {
        "name": name, "network": {"subnet": "10.191.9.0/24", "bridge": f"aihows{tag}", "forward": "none"},
        "controller": {**node, "ip": "10.191.9.10"}, "compute_nodes": [{**node, "ip": "10.191.9.11"}]}}}))
    vm = f"{name}-controller"
    env = {**env, "AI_HOW_LIBVIRT_URI": URI, "AI_HOW_POOL_ROOT": "/var/lib/libvirt/images/ai-how-bench"}
    ours: list[float] = []
    virsh: list[float] = []
    try:
        timed([AI_HOW, "hpc", "start", str(config)], env)
        timed([AI_HOW, "hpc", "stop", str(config), "--timeout", "0"], env)
        for _ in range(rounds):
            virsh.append(timed(["virsh", "-c", URI, "start", vm]))
            timed(["virsh", "-c", URI, "destroy", vm])
            timed([AI_HOW, "reconcile"], env)
            ours.append(timed([AI_HOW, "vm", "start", vm], env))
            timed([AI_HOW, "vm", "stop", vm, "--timeout", "0"], env)
    finally:
        subprocess.run([AI_HOW, "hpc", "destroy", str(config), "--yes", "--timeout", "0"], env=env,
                       capture_output=True)
    return statistics.median(virsh), statistics.median(ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-libvirt", action="store_true", help="Skip the vm start pair.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ai-how-startup-"))
    # As on a user's machine: Python may write bytecode (some shells here forbid it, which would
    # recompile ai-how's sources, and not the installed libraries', on every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["AI_HOW_STATE_DIR"] = str(folder / "state")
    minimal = write_minimal_app(folder)
    example = REPO / "examples" / "minimal-firmware.yaml"
    read_libraries = f"import yaml, pydantic; open({str(example)!r}).read()"
    pairs = {
        "--help": ([PYTHON, str(minimal), "--help"], [AI_HOW, "--help"]),
        "validate": ([PYTHON, "-c", read_libraries], [AI_HOW, "validate", str(example)]),
    }
    medians = side_by_side(args.rounds, pairs, env)
    goals = {"--help": 1.3, "vm start": 1.5}
    if not args.no_libvirt and libvirt_up():
        medians["vm start"] = vm_start_pair(args.rounds, folder, env)
    elif not args.no_libvirt:
        print("vm start: skipped (needs root and a libvirtd on qemu:///system; scripts/libvirt-up.sh)")
    for key, (baseline, ours) in medians.items():
        goal = goals.get(key)
        verdict = "" if goal is None else f"  goal ≤ {goal}× {'met' if ours / baseline <= goal else 'NOT met'}"
        print(f"{key:10s} baseline {baseline * 1000:7.1f} ms · ai-how {ours * 1000:7.1f} ms · "
              f"ratio {ours / baseline:.2f}×{verdict}  (median of {args.rounds})")


if __name__ == "__main__":
    main()
