"""Fixtures shared by every suite: a private state directory and a CLI runner."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_how.app.cli import app

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def run_cli(state_dir: Path) -> Callable[..., object]:
    """Run ``ai-how ARGS`` in-process against the test's own state directory."""
    runner = CliRunner()

    def run(*args: str) -> object:
        return runner.invoke(app, ["--state-dir", str(state_dir), *args], catch_exceptions=False)

    return run


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``clusters.hpc.compute_nodes[1].ip`` -> ``['clusters', 'hpc', 'compute_nodes', 1, 'ip']``"""
    return [name if name else int(index) for name, index in _PART.findall(path)]
