"""Fixtures shared by every suite: a private state directory and a CLI runner."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_how.app.cli import app
from tests.fakes.sysfs import EXAMPLE_HOST, FakeKernel, Faults, build_tree

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def host_faults() -> Faults:
    return Faults()


@pytest.fixture
def fake_host(tmp_path: Path, host_faults: Faults) -> FakeKernel:
    """This test's host PCI devices: the example configs' cards, in a fake sysfs tree."""
    return FakeKernel(build_tree(tmp_path / "host", EXAMPLE_HOST), host_faults)


@pytest.fixture(autouse=True)
def _fake_sysfs(monkeypatch, fake_host: FakeKernel) -> None:
    """No test binds this machine's real PCI devices: in-process ai-how sees the fake host."""
    import ai_how.app.bootstrap as bootstrap

    monkeypatch.setattr(bootstrap, "sysfs_host", lambda env: fake_host)


TEST_DRIVER_HOST = """<node>
  <cpu><nodes>1</nodes><sockets>1</sockets><cores>32</cores><threads>1</threads><active>32</active>
       <mhz>2000</mhz><model>x86_64</model></cpu>
  <memory>268435456</memory>
</node>
"""


@pytest.fixture
def libvirt_uri(tmp_path: Path) -> str:
    """A private libvirt test-driver host: its state lives in this process's connection."""
    driver = tmp_path / "libvirt-test-host.xml"
    driver.write_text(TEST_DRIVER_HOST)
    return f"test://{driver}"


@pytest.fixture
def terminal_input() -> list[str]:
    """What the operator types, for commands that ask."""
    return []


@pytest.fixture
def run_cli(state_dir: Path, libvirt_uri: str, terminal_input: list[str]) -> Callable[..., object]:
    """Run ``ai-how ARGS`` in-process against the test's own state directory and libvirt host."""
    runner = CliRunner()

    def run(*args: str) -> object:
        return runner.invoke(app, ["--state-dir", str(state_dir), "--libvirt-uri", libvirt_uri, *args],
                             input="".join(terminal_input) or None, catch_exceptions=False)

    return run


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``clusters.hpc.compute_nodes[1].ip`` -> ``['clusters', 'hpc', 'compute_nodes', 1, 'ip']``"""
    return [name if name else int(index) for name, index in _PART.findall(path)]
