"""The event store's database: settings for eventsourcing's SQLite recorder (in a private
state directory) or its PostgreSQL one, and the one query we add to its recorders.

The directory is created 0700 and the database file 0600 before SQLite opens it; SQLite
gives its -wal and -shm files the database file's permissions.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ai_how.app.errors import StoreUnavailable, UsageError

EVENTS_FILE = "events.sqlite"
LOCK_TIMEOUT_S = 30
SCHEMA_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def prepare_state_dir(state_dir: Path, filename: str = EVENTS_FILE) -> Path:
    """The state directory (0700) and the database file in it (0600), created if missing."""
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(state_dir, 0o700)
        db = state_dir / filename
        fd = os.open(db, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(db, 0o600)
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot use state directory {state_dir}: {exc.strerror}; "
            "choose another with --state-dir or AI_HOW_STATE_DIR"
        ) from None
    return db


def check_readable(db: Path) -> None:
    """Fail with one clear line on a file that is not an SQLite database."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreUnavailable(
            f"the event store {db} is unreadable ({exc}); restore it from a backup or move it "
            "aside to start an empty one"
        ) from None


def sqlite_settings(state_dir: Path) -> dict[str, str]:
    db = prepare_state_dir(state_dir)
    check_readable(db)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(db),
        "SQLITE_LOCK_TIMEOUT": str(LOCK_TIMEOUT_S),
    }


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def postgres_settings(url: str) -> dict[str, str]:
    """``postgresql://user:password@host:port/database[?schema=name]`` for eventsourcing.postgres."""
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname or not database or not parts.username:
        raise UsageError(f"the event store {redact(url)!r} is not a PostgreSQL URL: give "
                         "postgresql://user:password@host:port/database (or leave it unset for SQLite)")
    schema = parse_qs(parts.query).get("schema", ["public"])[0]
    if not SCHEMA_PATTERN.match(schema):
        raise UsageError(f"schema {schema!r} in the event store URL: use lower-case letters, digits and '_'")
    settings = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(database),
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_LOCK_TIMEOUT": "30",
    }
    _ensure_schema(settings, url)
    return settings


def _ensure_schema(settings: dict[str, str], url: str) -> None:
    import psycopg

    try:
        with psycopg.connect(dbname=settings["POSTGRES_DBNAME"], host=settings["POSTGRES_HOST"],
                             port=settings["POSTGRES_PORT"], user=settings["POSTGRES_USER"],
                             password=settings["POSTGRES_PASSWORD"], connect_timeout=5, autocommit=True) as conn:
            if settings["POSTGRES_SCHEMA"] != "public":
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{settings["POSTGRES_SCHEMA"]}"')
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreUnavailable(f"cannot reach the event store at {redact(url)}: {reason}; is PostgreSQL running "
                               "and the URL right?") from None


def store_settings(state_dir: Path, url: str | None) -> dict[str, str]:
    return postgres_settings(url) if url else sqlite_settings(state_dir)


EVENTS_AFTER_CHUNK = 100  # aggregates per statement: SQLite allows 500 terms in a UNION


def events_after(recorder: Any) -> Callable[[Mapping[UUID, int]], list[StoredEvent]]:
    """A query for eventsourcing's recorder that eventsourcing lacks: the events of several
    aggregates, each after its own version, in one statement (one round trip) per hundred.
    The store uses it to bring its cached aggregates up to date together."""
    if recorder.__class__.__module__ == "eventsourcing.postgres":
        select = _postgres_select(recorder)
    else:
        select = _sqlite_select(recorder)

    def chunked(versions: Mapping[UUID, int]) -> list[StoredEvent]:
        items = list(versions.items())
        return [record for start in range(0, len(items), EVENTS_AFTER_CHUNK)
                for record in select(items[start:start + EVENTS_AFTER_CHUNK])]

    return chunked


def _sqlite_select(recorder: Any) -> Callable[[list[tuple[UUID, int]]], list[StoredEvent]]:
    one = (f"SELECT originator_id, originator_version, topic, state FROM {recorder.events_table_name} "
           "WHERE originator_id = ? AND originator_version > ?")

    def select(versions: list[tuple[UUID, int]]) -> list[StoredEvent]:
        params = [p for key, version in versions for p in (key.hex, version)]
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(" UNION ALL ".join([one] * len(versions)), params)
            return [StoredEvent(recorder.convert_originator_id(row["originator_id"]), row["originator_version"],
                                row["topic"], row["state"]) for row in c.fetchall()]

    return select


def _postgres_select(recorder: Any) -> Callable[[list[tuple[UUID, int]]], list[StoredEvent]]:
    from psycopg.sql import SQL, Identifier

    # One index scan per aggregate, as the recorder reads one. (A join with the ids as an
    # array plans slowly each time, and may hash-join the whole table.)
    one = SQL("(SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
              "WHERE originator_id = %s AND originator_version > %s)").format(
        schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))

    def select(versions: list[tuple[UUID, int]]) -> list[StoredEvent]:
        params = [p for key, version in versions for p in (key, version)]
        with recorder.datastore.get_connection() as conn, conn.cursor() as c:
            c.execute(SQL(" UNION ALL ").join([one] * len(versions)), params, prepare=True)
            return [StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
                    for row in c.fetchall()]

    return select
