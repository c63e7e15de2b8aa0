"""``ai-how NOUN ...`` builds the root and that noun alone: the same answers as the whole tree,
for every noun, and only that noun's module imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from ai_how.app.cli import NOUNS, app, build, named_noun


def test_the_whole_tree_has_every_noun() -> None:
    assert sorted(typer.main.get_command(app).commands) == sorted(NOUNS)  # type: ignore[attr-defined]


@pytest.mark.parametrize("args, noun", [
    (["snapshot", "list"], "snapshot"),
    (["--state-dir", "/s", "--libvirt-uri", "test:///default", "vm", "status", "x"], "vm"),
    (["--state-dir=/s", "--event-store=postgresql://u@h/d", "gpu", "list"], "gpu"),
    (["--state-dir", "snapshot", "hpc", "status"], "hpc"),  # a value that looks like a noun is a value
    (["plan", "c.yaml"], "plan"),
    (["--help"], None), (["--version", "vm"], None), (["--state-dir", "/s", "--help", "vm"], None),
    (["snapshots", "list"], None), (["--no-such-option", "vm"], None), ([], None), (["--state-dir"], None),
])
def test_the_noun_is_found_past_the_global_options(args: list[str], noun: str | None) -> None:
    assert named_noun(args) == noun


@pytest.mark.parametrize("noun", list(NOUNS))
def test_each_noun_answers_as_the_whole_tree_does(noun: str, tmp_path) -> None:
    runner = CliRunner()
    for args in ([noun, "--help"], [noun, "no-such-command"], [noun, "--no-such-option"], [noun]):
        whole = runner.invoke(app, ["--state-dir", str(tmp_path), *args])
        alone = runner.invoke(build(named_noun(["--state-dir", str(tmp_path), *args])),
                              ["--state-dir", str(tmp_path), *args])
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output), args


def test_a_command_line_imports_its_own_noun_s_module_only(tmp_path) -> None:
    probe = ("import sys, json\nsys.argv = ['ai-how', 'snapshot', '--help']\nfrom ai_how.app.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ai_how.app.cli.'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"AI_HOW_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    others = {f"ai_how.app.cli.{module}" for module, _ in NOUNS.values()} - {"ai_how.app.cli.snapshot"}
    assert "ai_how.app.cli.snapshot" in loaded and others.isdisjoint(loaded), loaded


def test_the_process_leaves_its_objects_frozen_for_the_collector_at_exit(tmp_path) -> None:
    """Python's last collection then skips what start-up made: the probe's exit handler, registered
    before ``main``'s, runs after it and sees the objects frozen."""
    probe = ("import atexit, gc, sys\natexit.register(lambda: print('@exit', gc.get_freeze_count()))\n"
             "sys.argv = ['ai-how', 'snapshot', '--help']\nfrom ai_how.app.cli import main\n"
             "print('@before', gc.get_freeze_count())\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"AI_HOW_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    counts = dict(line.split() for line in out.stdout.splitlines() if line.startswith("@"))
    assert int(counts["@before"]) == 0 and int(counts["@exit"]) > 10_000, out.stdout
