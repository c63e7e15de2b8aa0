"""Fixtures shared by every suite: a private state directory and a CLI runner."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_how.app.cli import app
from tests.fakes.sysfs import EXAMPLE_HOST, FakeKernel, Faults, build_tree

REPO = Path(__file__).resolve().parents[1]
# The InferenceService CRD's schema, as the shared design folder gives it (../shared/schemas);
# kept in the repository, since CI's clone has no shared folder beside it.
KSERVE_SCHEMA = REPO / "tests" / "data" / "kserve-inferenceservice-v1beta1.schema.json"
SHARED_KSERVE_SCHEMA = REPO.parent / "shared" / "schemas" / KSERVE_SCHEMA.name


# Each test's time limit by tier, so a hang fails one test with a message instead of eating
# the run: generous, several times the slowest seen on a 2-core machine. A test's own
# ``@pytest.mark.timeout(N)`` wins.
TIMEOUTS_S = {"unit": 120, "acceptance": 300, "integration": 600, "real_libvirt": 1500}


def _tier(item: pytest.Item) -> str:
    if item.get_closest_marker("real_libvirt"):
        return "real_libvirt"
    parts = Path(str(item.fspath)).relative_to(REPO).parts
    return parts[1] if len(parts) > 2 and parts[1] in TIMEOUTS_S else "integration"


def pytest_configure(config) -> None:
    # Here, not in pyproject.toml: that file names the cached virtual environment (setup.sh).
    config.addinivalue_line("markers", "boots_own_guests: boots Debian guests of its own (minutes of CPU); runs "
                                       "after its lane's light real-libvirt tests")


@pytest.hookimpl(tryfirst=True)  # before -m selects: the lanes select by the markers given here
def pytest_collection_modifyitems(config, items: list[pytest.Item]) -> None:
    for item in items:
        if "shared_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.uses_shared_cluster)
        if not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(TIMEOUTS_S[_tier(item)]))
    # Tests that change, then destroy, the shared real-guest cluster run after every test that uses it.
    # Tests that boot Debian guests of their own run after the light real-libvirt tests of their
    # lane: those mostly wait, and overlap the other lanes' boots; left last, they ran on a
    # machine two thirds idle.
    items.sort(key=lambda item: (item.get_closest_marker("changes_shared_cluster") is not None)
               + 2 * (item.get_closest_marker("destroys_shared_cluster") is not None)
               + 4 * (item.get_closest_marker("boots_own_guests") is not None))


def pytest_terminal_summary(terminalreporter) -> None:
    """Where the time went: each file's setup, call and teardown added up."""
    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) in ("setup", "call", "teardown") and hasattr(report, "duration"):
                name = report.nodeid.split("::")[0]
                totals[name] += report.duration
                counts[name] += report.when == "call"
    if not totals:
        return
    terminalreporter.write_sep("=", "time per file")
    for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:9.1f} s  {counts[name]:4d} tests  {name}")
    terminalreporter.write_line(f"{sum(totals.values()):9.1f} s  in all")


def require_tool(name: str, why: str = "") -> str:
    """The path of ``name``; a skip where it is missing, a failure under CI, which installs it."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not installed{f' ({why})' if why else ''}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI installs it (.ci/run), so its absence is a failure there")
        pytest.skip(message)
    return found


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


POSTGRES_URL = os.environ.get("AI_HOW_TEST_POSTGRES", "postgresql://aihow:aihow@127.0.0.1:5432/aihow")


def _postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(request, monkeypatch) -> str:
    """Runs the test on SQLite, and again on a private schema of the shared PostgreSQL."""
    if request.param == "sqlite":
        monkeypatch.delenv("AI_HOW_EVENT_STORE", raising=False)
        yield "sqlite"
        return
    _require_postgres()
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    monkeypatch.setenv("AI_HOW_EVENT_STORE", f"{POSTGRES_URL}?schema={schema}")
    yield "postgres"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _require_postgres() -> None:
    if not _postgres_reachable():
        if os.environ.get("AI_HOW_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}; run scripts/postgres-up.sh")
        pytest.skip("no PostgreSQL (scripts/postgres-up.sh starts one)")


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory) -> str:
    """A real MLflow tracking server on loopback, its registry in the test PostgreSQL."""
    from tests.servers import mlflow_server

    _require_postgres()
    with mlflow_server(POSTGRES_URL, tmp_path_factory.mktemp("mlflow")) as url:
        yield url


@pytest.fixture(scope="session")
def s3_uri(tmp_path_factory) -> str:
    """An S3-compatible server (moto's) on loopback."""
    from tests.servers import s3_server

    with s3_server(tmp_path_factory.mktemp("s3")) as url:
        yield url


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


@contextmanager
def opened(state_dir: Path, **kwargs):
    """A bus on the test's store, closed afterwards (PostgreSQL counts its connections)."""
    from ai_how.app.bootstrap import bootstrap

    bus = bootstrap(state_dir, **kwargs)
    try:
        yield bus
    finally:
        bus.close()


_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``clusters.hpc.compute_nodes[1].ip`` -> ``['clusters', 'hpc', 'compute_nodes', 1, 'ip']``"""
    return [name if name else int(index) for name, index in _PART.findall(path)]
