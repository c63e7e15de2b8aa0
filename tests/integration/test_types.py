"""The type checker over domain/ and app/ (pyproject's [tool.mypy]): strict on the ports, the
commands, the bus and every handler."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

# Outside the clone, like the image and venv caches: mypy checks each cached module against
# its file's hash, so a fresh clone reuses what an earlier run found (and its own version and
# options invalidate it).
SHARED_CACHE = Path(os.environ.get("AI_HOW_MYPY_CACHE", "/var/cache/ai-how/mypy"))


def test_the_type_checker_is_clean(tmp_path) -> None:
    try:
        SHARED_CACHE.mkdir(parents=True, exist_ok=True)
        cache = SHARED_CACHE if os.access(SHARED_CACHE, os.W_OK) else tmp_path / "mypy-cache"
    except OSError:
        cache = tmp_path / "mypy-cache"
    out = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache)], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success: no issues found" in out.stdout
