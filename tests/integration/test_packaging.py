"""The distribution builds without a warning, and both wheels hold what an install needs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

BUILD = """
import sys, warnings
warnings.simplefilter("always")
from hatchling.build import build_editable, build_wheel
print(build_editable(sys.argv[1]) if sys.argv[2] == "editable" else build_wheel(sys.argv[1]))
"""


def _build(kind: str, into: Path) -> tuple[zipfile.ZipFile, str]:
    done = subprocess.run([sys.executable, "-c", BUILD, str(into), kind], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return zipfile.ZipFile(into / done.stdout.strip()), done.stderr


@pytest.mark.parametrize("kind", ["editable", "wheel"])
def test_the_build_prints_no_warning(kind, tmp_path) -> None:
    _, printed = _build(kind, tmp_path)
    assert "warn" not in printed.lower(), printed


def test_an_editable_install_is_one_path_entry_to_src(tmp_path) -> None:
    wheel, _ = _build("editable", tmp_path)
    [pth] = [n for n in wheel.namelist() if n.endswith(".pth")]
    assert wheel.read(pth).decode().split() == [str(REPO / "src")]
    for folder in ("domain", "app", "adapters", "templates"):
        assert (REPO / "src" / "ai_how" / folder).resolve() == REPO / folder


def test_the_wheel_holds_every_module_and_template(tmp_path) -> None:
    wheel, _ = _build("wheel", tmp_path)
    names = set(wheel.namelist())
    for folder in ("domain", "app", "adapters", "templates"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert f"ai_how/{path.relative_to(REPO)}" in names, path
