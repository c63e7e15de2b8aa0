"""The dependency rule and the light start, checked rather than hoped for."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

SDKS = ["libvirt", "kubernetes", "ansible_runner", "kserve", "mlflow", "paramiko"]
# Built on a command's demand only: the config models (pydantic), the store (eventsourcing,
# sqlite3, psycopg), the write side and the read side.
HEAVY = [*SDKS, "eventsourcing", "sqlite3", "psycopg", "pydantic", "yaml", "jinja2", "ai_how.app.config.models",
         "ai_how.app.lifecycle", "ai_how.app.readside", "ai_how.app.bootstrap", "ai_how.domain.commands"]


def _loaded_after(code: str, env_dir: str) -> list[str]:
    probe = (
        "import sys, json\n"
        f"{code}\n"
        f"print(json.dumps([m for m in {HEAVY + ['rich.table']!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"AI_HOW_STATE_DIR": env_dir, "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_contracts_hold() -> None:
    lint = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]
    out = subprocess.run([*lint, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_importing_the_cli_loads_nothing_heavy(tmp_path) -> None:
    assert _loaded_after("import ai_how.app.cli", str(tmp_path / "state")) == []


def _help(*commands: list[str]) -> str:
    calls = "".join(f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n" for args in commands)
    return "from ai_how.app.cli import app\n" + calls


def test_help_loads_no_sdk_store_or_config_model_and_opens_no_store(tmp_path) -> None:
    """``rich.table`` is left out: Typer's own help renderer draws its panels with it."""
    state = tmp_path / "state"
    assert [m for m in _loaded_after(_help(["--help"]), str(state)) if m != "rich.table"] == []
    assert not state.exists()


def test_a_command_s_help_builds_no_config_model(tmp_path) -> None:
    """A command's help makes Typer build its parameters, through pydantic's TypeAdapter since
    Typer 0.29: pydantic is Typer's there, and none of ai-how's models is built."""
    state = tmp_path / "state"
    code = _help(["hpc", "--help"], ["vm", "start", "--help"], ["audit", "log", "--help"], ["validate", "--help"])
    assert [m for m in _loaded_after(code, str(state)) if m not in ("rich.table", "pydantic")] == []
    assert not state.exists()
