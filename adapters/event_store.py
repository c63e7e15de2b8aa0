"""Settings for eventsourcing's SQLite recorder, with a private state directory.

The directory is created 0700 and the database file 0600 before SQLite opens it; SQLite
gives its -wal and -shm files the database file's permissions.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ai_how.app.errors import StoreUnavailable

EVENTS_FILE = "events.sqlite"
LOCK_TIMEOUT_S = 30


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
