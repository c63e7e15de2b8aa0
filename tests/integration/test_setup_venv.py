"""``scripts/setup.sh`` with the shared cache of dependencies: each clone's ``.venv`` runs that
clone's code, however many clones were set up after it, and an old ``.venv`` (a link to the
shared environment, which the last clone set up pointed at itself) is made again."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

CACHE = Path(os.environ.get("AI_HOW_VENV_CACHE") or "/var/cache/ai-how/venvs")
PROBE = "import ai_how.app.cli as cli; print(cli.__file__)"


def _cached() -> Path | None:
    """The dependencies' environment this pyproject.toml's setup made, if it is there."""
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    python = subprocess.run(["bash", "-c", "python3 --version"], capture_output=True, text=True, check=True,
                            env={}).stdout  # the python3 setup.sh finds on bash's own PATH
    machine = os.uname().machine
    key = hashlib.sha256(f"{digest}\n{python}{machine}\ndependencies only\n".encode()).hexdigest()[:16]
    found = CACHE / key
    return found if (found / ".ai-how-complete").exists() else None


@pytest.fixture
def cached() -> Path:
    found = _cached()
    if found is None or not os.access(CACHE, os.W_OK):
        pytest.skip(f"no writable {CACHE} with this pyproject.toml's dependencies (setup.sh as root makes it)")
    return found


def _clone(into: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--shared", str(REPO), str(into)], check=True)
    for name in ("scripts/setup.sh", "pyproject.toml"):  # the working tree's, committed or not
        shutil.copy(REPO / name, into / name)
    return into


def _setup(clone: Path) -> str:
    out = subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, capture_output=True, text=True, timeout=300,
                         env={"HOME": os.environ.get("HOME", "/root"), "AI_HOW_VENV_CACHE": str(CACHE)})
    assert out.returncode == 0, out.stderr
    return out.stdout


def _runs_from(clone: Path) -> Path:
    out = subprocess.run([str(clone / ".venv/bin/python"), "-c", PROBE], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    return Path(out.stdout.strip())


def test_each_clone_runs_its_own_code_beside_the_others(cached, tmp_path) -> None:
    first, second = _clone(tmp_path / "first"), _clone(tmp_path / "second")
    _setup(first)
    _setup(second)
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
    old = CACHE / f"old-kind-{tmp_path.name}"  # stands for the environment it linked to, which must stay
    (old / "bin").mkdir(parents=True)
    try:
        (clone / ".venv").symlink_to(old)
        said = _setup(clone)
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
    said = _setup(other)
    assert "making .venv again" not in said and (other / ".venv").readlink() == mine
