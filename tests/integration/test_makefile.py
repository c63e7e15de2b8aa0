"""The Makefile's targets call the CLI and nothing else."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import REPO, require_tool


@pytest.fixture(autouse=True)
def _make() -> None:
    require_tool("make", "apt-get install make")


EXPECTED = {
    "system-start": "system start cfg.yaml", "system-stop": "system stop cfg.yaml --timeout 60",
    "system-status": "system status cfg.yaml", "system-destroy": "system destroy cfg.yaml",
    "hpc-cluster-start": "hpc start cfg.yaml", "hpc-cluster-stop": "hpc stop cfg.yaml --timeout 60",
    "hpc-cluster-status": "hpc status cfg.yaml", "hpc-cluster-destroy": "hpc destroy cfg.yaml",
    "cloud-cluster-start": "cloud start cfg.yaml", "cloud-cluster-stop": "cloud stop cfg.yaml --timeout 60",
    "cloud-cluster-status": "cloud status cfg.yaml", "cloud-cluster-destroy": "cloud destroy cfg.yaml",
    "cluster-start": "system start cfg.yaml", "cluster-stop": "system stop cfg.yaml --timeout 60",
    "cluster-status": "system status cfg.yaml", "cluster-destroy": "system destroy cfg.yaml",
    "reconcile": "reconcile", "validate": "validate cfg.yaml",
    "hpc-cluster-deploy": "hpc deploy cfg.yaml", "cloud-cluster-deploy": "cloud deploy cfg.yaml",
}


def dry_run(target: str) -> list[str]:
    out = subprocess.run(["make", "-s", "-n", target, "CLUSTER_CONFIG=cfg.yaml", "AI_HOW=ai-how"], cwd=REPO,
                         capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("target, command", EXPECTED.items())
def test_each_target_is_one_cli_call(target: str, command: str) -> None:
    assert dry_run(target) == [f"ai-how {command}"]


def test_the_shared_gpu_walkthrough_only_calls_the_cli() -> None:
    lines = [line for line in dry_run("validate-shared-gpu") if not line.startswith("echo ")]
    assert all(line.startswith("ai-how ") for line in lines), lines
    assert lines.count("ai-how vm start cloud-cluster-gpu-worker-01") == 1
    assert [line for line in lines if line.startswith("ai-how gpu move")] == [
        "ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01 --drain-timeout 600 --timeout 60",
        "ai-how gpu move 0000:01:00.0 --to hpc-cluster-compute-01 --drain-timeout 600 --timeout 60"]
    # the first start must be refused while HPC holds the GPU, so make goes on past it
    assert re.search(r"^\t-\$\(AI_HOW\) vm start \$\(GPU_WORKER\)$", (REPO / "Makefile").read_text(), re.M)


def test_make_validate_runs_the_cli() -> None:
    out = subprocess.run(["make", "-s", "validate", "CLUSTER_CONFIG=examples/minimal-firmware.yaml"], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "examples/minimal-firmware.yaml is valid" in out.stdout
