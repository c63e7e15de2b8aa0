"""The dependency rule and the light start, checked rather than hoped for."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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


CAPABILITIES = {"backup", "config", "deploy", "guests", "host", "images", "lifecycle", "readside", "serving", "cli"}


def _app_modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text())) for p in sorted((REPO / "app").rglob("*.py"))]


def test_no_capability_imports_another_s_private_names() -> None:
    found = []
    for path, tree in _app_modules():
        parts = path.relative_to(REPO / "app").parts
        own = parts[0] if len(parts) > 1 else None
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                    and node.module.startswith("ai_how.app.")):
                continue
            target = node.module.split(".")[2]
            private = [a.name for a in node.names if a.name.startswith("_")] + \
                [m for m in node.module.split(".")[3:] if m.startswith("_")]
            if target in CAPABILITIES and target != own and private:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.module} {private}")
    assert found == []


def test_no_import_cycle_not_even_inside_a_function() -> None:
    import grimp

    graph = grimp.build_graph("ai_how", cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if module != imported and graph.chain_exists(imported, module):
                cycles.append(f"{module} <-> {imported}")
    assert cycles == []


def test_no_module_of_the_tool_is_over_350_lines() -> None:
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines())
             for folder in ("domain", "app", "adapters") for p in (REPO / folder).rglob("*.py")}
    assert {path: n for path, n in sizes.items() if n > 350} == {}


def test_no_cli_command_is_over_40_lines() -> None:
    long = {}
    for path, tree in _app_modules():
        if path.parent.name != "cli":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                    getattr(d, "id", None) == "handles_errors" for d in node.decorator_list):
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                if node.end_lineno - first + 1 > 40:
                    long[f"{path.name}:{node.name}"] = node.end_lineno - first + 1
    assert long == {}
