"""Steps for features/bad_input.feature and features/shared_store.feature."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when
from typer.testing import CliRunner

from ai_how.app.cli import app
from tests.conftest import REPO, opened

scenarios("bad_input.feature", "shared_store.feature")


def _sqlite_only(store_backend: str) -> None:
    if store_backend != "sqlite":
        pytest.skip("this scenario is about the SQLite store file")


@given("the store file is overwritten with garbage", target_fixture="garbage")
def garbage_store(state_dir: Path, store_backend: str) -> bytes:
    _sqlite_only(store_backend)
    state_dir.mkdir(mode=0o700, exist_ok=True)
    garbage = b"\x00not a database\xff" * 512
    (state_dir / "events.sqlite").write_bytes(garbage)
    return garbage


@then("the store file is still the garbage it was")
def still_garbage(state_dir: Path, garbage: bytes) -> None:
    assert (state_dir / "events.sqlite").read_bytes() == garbage


@given("the store file is cut to half its size")
def truncated_store(state_dir: Path, store_backend: str) -> None:
    _sqlite_only(store_backend)
    db = state_dir / "events.sqlite"
    for sidecar in ("events.sqlite-wal", "events.sqlite-shm"):
        (state_dir / sidecar).unlink(missing_ok=True)
    with open(db, "r+b") as handle:
        handle.truncate(max(db.stat().st_size // 2, 1))


@given("a state directory that cannot be written", target_fixture="state_dir")
def unwritable_state(store_backend: str) -> Path:
    _sqlite_only(store_backend)
    return Path("/proc/ai-how-state")  # not even root can create anything there


@given("ansible-runner is not installed")
def no_ansible_runner(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ansible_runner", None)  # what importing a missing package raises


@given(parsers.parse("a Kubespray checkout of release {release}"))
def old_kubespray(tmp_path: Path, noted: dict, release: str) -> None:
    import shutil

    checkout = tmp_path / f"kubespray-{release}"
    shutil.copytree(REPO / "tests" / "fakes" / "kubespray", checkout)
    galaxy = checkout / "galaxy.yml"
    galaxy.write_text(galaxy.read_text().replace("version: 2.29.0", f"version: {release}"))
    noted["kubespray"] = str(checkout)


@then(parsers.parse('the output does not contain "{text}"'))
def output_lacks(result, text: str) -> None:
    assert text not in result.stdout + result.stderr


@then("nothing was written to the store")
def nothing_written(state_dir: Path) -> None:
    with opened(state_dir) as bus:
        assert bus.store.max_position() == 0


@given(parsers.parse('the config "{path}" with the secret "{secret}" in mlops and monitoring'))
def config_with_secret(tmp_path: Path, config_path: list[str], path: str, secret: str) -> None:
    doc = yaml.safe_load((REPO / path).read_text())
    doc["clusters"]["cloud"]["mlops"] = {"mlflow": {"database": {"username": "mlflow", "password": secret}}}
    doc["clusters"]["cloud"]["mlops"]["minio"] = {"credentials": {"root_password": secret}}
    doc["clusters"]["cloud"]["monitoring"] = {"grafana": {"admin_password": secret}}
    target = tmp_path / "cluster.yaml"
    target.write_text(yaml.safe_dump(doc))
    config_path.append(str(target))


@then(parsers.parse('no output contained "{secret}"'))
def no_output_has(transcript: list, secret: str) -> None:
    assert transcript and all(r.exit_code == 0 for r in transcript), [r.stderr for r in transcript]
    assert not [r for r in transcript if secret in r.stdout + r.stderr]


@then(parsers.parse('neither the log nor the views contain "{secret}"'))
def stores_lack(state_dir: Path, store_backend: str, secret: str) -> None:
    with opened(state_dir) as bus:
        log = json.dumps([e.payload for e in bus.store.iter_log()], default=str)
        views = json.dumps(bus.dependencies["views"].dump(), default=str)
    assert "mlflow" not in log and secret not in log and secret not in views
    if store_backend == "sqlite":
        for path in state_dir.iterdir():
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


# --- shared store ---------------------------------------------------------------------------


@given("a shared PostgreSQL store")
def shared_store(store_backend: str) -> None:
    if store_backend != "postgres":
        pytest.skip("sharing one store needs PostgreSQL")
    assert os.environ["AI_HOW_EVENT_STORE"].startswith("postgresql://")


@pytest.fixture
def operators(tmp_path: Path) -> dict[str, Path]:
    return {}


@given(parsers.parse("operators {first} and {second}, each with a state directory of their own"))
def two_operators(tmp_path: Path, operators: dict[str, Path], first: str, second: str) -> None:
    for name in (first, second):
        operators[name] = tmp_path / f"{name}-state"


@when(parsers.parse('{operator} runs "ai-how {args}"'), target_fixture="result")
def operator_runs(operators: dict[str, Path], libvirt_uri: str, operator: str, args: str):
    return CliRunner().invoke(app, ["--state-dir", str(operators[operator]), "--libvirt-uri", libvirt_uri,
                                    *args.split()], catch_exceptions=False)


@then(parsers.parse("{pronoun} command succeeds"))
def succeeds(result, pronoun: str) -> None:
    assert result.exit_code == 0, result.stderr


@then(parsers.parse('{pronoun} command is refused with exit code {code:d} and "{message}"'))
def refused(result, pronoun: str, code: int, message: str) -> None:
    assert result.exit_code == code and message in result.stderr, result.stderr


@then(parsers.parse("{operator} sees GPU {gpu} held by {vm}"))
def sees_holder(result, operator: str, gpu: str, vm: str) -> None:
    assert {r["pci_address"]: r["holder"] for r in json.loads(result.stdout)}[gpu] == vm


@then(parsers.parse("{operator} sees {count:d} leases of GPU {gpu}: to {first}, then to {second}"))
def sees_leases(result, operator: str, count: int, gpu: str, first: str, second: str) -> None:
    leases = [json.loads(line)["payload"]["vm"] for line in result.stdout.splitlines()]
    assert leases == [first, second] and len(leases) == count
