"""The type checker over domain/ and app/ (pyproject's [tool.mypy]): strict on the ports, the
commands, the bus and every handler."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_the_type_checker_is_clean(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache")], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success: no issues found" in out.stdout
