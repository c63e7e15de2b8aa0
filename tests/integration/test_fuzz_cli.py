"""Fuzzing the command line: any sequence of words gets an answer with a documented exit
code and never a traceback; a rejection (exit 2) always says why."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ai_how.app.cli import app
from tests.conftest import REPO, TEST_DRIVER_HOST

WORDS = ["hpc", "cloud", "vm", "system", "gpu", "audit", "config", "host", "topology", "reconcile", "validate",
         "start", "stop", "status", "destroy", "restart", "list", "inventory", "check", "log", "replay", "at",
         "verify", "schema", "--json", "--yes", "--timeout", "--wait", "--since", "--until", "--gpu", "--vm",
         "--cluster", "--type", "--limit", "--config", "--adopt", "--remove", "--help", "-y", "1", "0", "-5", "2h",
         "yesterday", "0000:01:00.0", "0000:zz:00.0", "mini-hpc-compute-01", "no-such-vm", "GpuLeased",
         str(REPO / "examples/minimal-firmware.yaml"), str(REPO / "examples/multi-gpu-clusters.yaml"), "/nonexistent.yaml",
         "--state-dir", "--event-store", "postgresql://x:y@127.0.0.1:1/db", "mysql://x", "", "é", "--libvirt-uri"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=12), min_size=1, max_size=6))
def test_any_command_line_gets_a_clean_answer(words: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        driver = Path(folder) / "host.xml"
        driver.write_text(TEST_DRIVER_HOST)
        result = CliRunner().invoke(app, ["--state-dir", f"{folder}/state", "--libvirt-uri", f"test://{driver}",
                                          *words], catch_exceptions=True)
    output = result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (words, repr(result.exception))
    assert result.exit_code in (0, 1, 2, 3), (words, result.exit_code, output)
    assert "Traceback" not in output, (words, output)
    assert "internal error" not in output, (words, output)
    if result.exit_code in (1, 2, 3):  # a bare noun answers with its help on stdout
        assert output.strip(), (words, result.exit_code, "a refusal must say why")
