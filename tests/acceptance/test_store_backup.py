"""Steps for features/store_backup.feature: the restore goes into a new state directory on
SQLite, or into a new schema of the test PostgreSQL."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pytest_bdd import parsers, scenarios, then, when
from typer.testing import CliRunner

from ai_how.app.cli import app
from tests.conftest import POSTGRES_URL

scenarios("store_backup.feature")


@pytest.fixture
def restored_store(tmp_path: Path, store_backend: str):
    """Where the scenario restores to: the arguments that name it."""
    args = ["--state-dir", str(tmp_path / "restored")]
    if store_backend == "sqlite":
        yield args
        return
    schema = f"r_{secrets.token_hex(6)}"
    yield [*args, "--event-store", f"{POSTGRES_URL}?schema={schema}"]
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@when(parsers.parse('I restore "{file}" into a new, empty store'), target_fixture="result")
def restore_into_new(restored_store: list[str], libvirt_uri: str, noted: dict, file: str):
    path = file.replace("{tmp}", noted["tmp"])
    return CliRunner().invoke(app, [*restored_store, "--libvirt-uri", libvirt_uri, "store", "restore", path],
                              catch_exceptions=False)


@then(parsers.parse('in the restored store, "ai-how {args}" says "{text}"'))
def restored_says(restored_store: list[str], libvirt_uri: str, args: str, text: str) -> None:
    from tests.conftest import REPO

    words = [str(REPO / w) if w.startswith("examples/") else w for w in args.split()]
    result = CliRunner().invoke(app, [*restored_store, "--libvirt-uri", libvirt_uri, *words], catch_exceptions=False)
    assert result.exit_code == 0 and text in result.stdout, result.stdout + result.stderr
