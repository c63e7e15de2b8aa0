"""A store written before a refactoring still replays: stored event topics are part of the format.

The fixture was written by main at 9ef6948, before ``app/`` was regrouped into capability
packages (see ``tests/fixtures/make_store_fixture.py``); its views are made here, from its log.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from ai_how.app.cli import app
from tests.conftest import REPO

FIXTURE = REPO / "tests/fixtures/store-before-capability-packages"


def _copy_store(state_dir: Path) -> None:
    state_dir.mkdir(mode=0o700)
    shutil.copy(FIXTURE / "events.sqlite", state_dir / "events.sqlite")


def test_an_old_store_replays_into_the_same_topology(state_dir, tmp_path, monkeypatch) -> None:
    """No hypervisor answers here, so what the commands show is the log's story alone."""
    monkeypatch.delenv("AI_HOW_EVENT_STORE", raising=False)
    _copy_store(state_dir)
    nowhere = f"test://{tmp_path}/no-such-host.xml"

    def run_cli(*args: str):
        return CliRunner().invoke(app, ["--state-dir", str(state_dir), "--libvirt-uri", nowhere, *args],
                                  catch_exceptions=False)

    replay = run_cli("audit", "replay", "--json")
    assert replay.exit_code == 0, replay.stderr
    assert json.loads(replay.stdout)["events"] == 49
    for command, saved in ((("topology", "--json"), "topology.json"), (("gpu", "list", "--json"), "gpu-list.json")):
        result = run_cli(*command)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == json.loads((FIXTURE / saved).read_text()), command
    log = run_cli("audit", "log", "--json")
    assert log.stdout == (FIXTURE / "audit-log.jsonl").read_text()
    verify = run_cli("audit", "verify")
    assert verify.exit_code == 0, verify.stdout + verify.stderr
