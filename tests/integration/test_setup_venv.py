"""``scripts/setup.sh`` with the shared cache of dependencies: each clone's ``.venv`` runs that
clone's code, however many clones were set up after it; an old ``.venv`` (a link into the cache,
whose code the last clone set up pointed at itself) is made again, and a link to the user's own
environment stays."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

PROBE = "import ai_how.app.cli as cli; print(cli.__file__)"


@pytest.fixture
def cached() -> Path:
    """The dependencies' environment this clone's own ``.venv`` was made on (setup.sh names it there)."""
    named = REPO / ".venv" / ".ai-how-dependencies"
    found = Path(named.read_text().strip()) if named.exists() else None
    if found is None or not (found / ".ai-how-complete").exists() or not os.access(found.parent, os.W_OK):
        pytest.skip("this clone's .venv was not made on a writable cache of dependencies (setup.sh as root makes it)")
    return found


def _clone(into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--shared", str(REPO), str(into)], check=True)
    for name in ("scripts/setup.sh", "pyproject.toml"):  # the working tree's, committed or not
        shutil.copy(REPO / name, into / name)
    return into


def _setup(clone: Path, cache: Path) -> str:
    out = subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, capture_output=True, text=True, timeout=300,
                         env={"HOME": os.environ.get("HOME", "/root"), "AI_HOW_VENV_CACHE": str(cache)})
    assert out.returncode == 0, out.stderr
    return out.stdout


def _runs_from(clone: Path) -> Path:
    out = subprocess.run([str(clone / ".venv/bin/python"), "-c", PROBE], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    return Path(out.stdout.strip())


def test_each_clone_runs_its_own_code_beside_the_others(cached, tmp_path) -> None:
    first, second = _clone(tmp_path / "first"), _clone(tmp_path / "second")
    _setup(first, cached.parent)
    _setup(second, cached.parent)
    assert _runs_from(first) == first / "src/ai_how/app/cli/__init__.py"
    assert _runs_from(second) == second / "src/ai_how/app/cli/__init__.py"
    version = subprocess.run([str(first / ".venv/bin/ai-how"), "--version"], capture_output=True, text=True,
                             check=True, env={"PATH": "/usr/bin:/bin"})
    assert version.stdout.startswith("ai-how ")
    tool = (first / ".venv/bin/ansible-playbook").read_text().splitlines()[0]
    assert tool == f"#!{first}/.venv/bin/python"  # the dependencies' commands run on the clone's Python
    assert not (cached / "bin/ai-how").exists()  # the shared environment holds no clone's code


def test_an_old_link_into_the_cache_is_made_again_and_a_user_s_own_link_stays(cached, tmp_path) -> None:
    clone = _clone(tmp_path / "old")
    old = cached.parent / f"old-kind-{tmp_path.name}"  # stands for the environment it linked to, which must stay
    (old / "bin").mkdir(parents=True)
    try:
        (clone / ".venv").symlink_to(old)
        said = _setup(clone, cached.parent)
        assert "making .venv again" in said
        assert not (clone / ".venv").is_symlink() and (old / "bin").is_dir()
        assert _runs_from(clone) == clone / "src/ai_how/app/cli/__init__.py"
    finally:
        shutil.rmtree(old)
    mine = tmp_path / "my-own-environment"  # set up already: its stamp names this pyproject.toml
    (mine / "bin").mkdir(parents=True)
    (mine / "bin/python").symlink_to("/usr/bin/python3")
    (mine / ".ai-how-installed").write_text(hashlib.sha256((clone / "pyproject.toml").read_bytes()).hexdigest() + "\n")
    other = _clone(tmp_path / "linked")
    (other / ".venv").symlink_to(mine)
    said = _setup(other, cached.parent)
    assert "making .venv again" not in said and (other / ".venv").readlink() == mine
