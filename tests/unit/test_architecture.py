"""The dependency rule and the lazy loading of SDKs, checked rather than hoped for."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

SDKS = ["libvirt", "kubernetes", "ansible_runner"]


def test_import_contracts_hold() -> None:
    lint = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]
    out = subprocess.run([*lint, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_help_loads_no_infrastructure_sdk() -> None:
    probe = (
        "import sys, json\n"
        "from ai_how.app.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in {SDKS!r} + ['eventsourcing', 'sqlite3'] if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
