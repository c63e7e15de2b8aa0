"""The event store's database as a whole (the ``StoreFiles`` port): copies for ``ai-how store
backup`` and ``restore``, and the backend's own integrity check.

An SQLite store is copied by SQLite's online backup API: one consistent copy, page by page,
while other processes go on writing (WAL). A PostgreSQL store is copied by eventsourcing's
recorders: the last position is read first and every event up to it is written, in order, into
a new SQLite events file (PostgreSQL's ids are given in commit order: a prefix of the log is a
consistent state). Either way the copy is an SQLite events file, so a backup restores into
either backend, and needs no pg_dump of the server's own version.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from ai_how.app.errors import StoreUnavailable, UsageError
from ai_how.app.ports import StoreFiles

from .event_store import LOCK_TIMEOUT_S
from .views import VIEWS_FILE

PAGE = 500  # events per read and per write when copying through the recorders


def _sqlite_app(db: Path) -> Any:
    from ai_how.app.store import AiHowApplication

    return AiHowApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db),
                                 "SQLITE_LOCK_TIMEOUT": str(LOCK_TIMEOUT_S)})


def _copy_notifications(source: Any, target: Any, upto: int) -> int:
    """Events 1..``upto`` of ``source``'s recorder into ``target``'s, in order."""
    from eventsourcing.persistence import StoredEvent

    copied, start = 0, 1
    while start <= upto:
        page = source.recorder.select_notifications(start=start, limit=PAGE, stop=upto)
        if not page:
            break
        target.recorder.insert_events([StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
                                       for n in page])
        copied += len(page)
        start = page[-1].id + 1
    return copied


def count_events(db: Path) -> int:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def _backup(source: str, target: Path, journal: str) -> None:
    """SQLite's online backup of ``source`` into ``target``, left in ``journal`` mode. A full
    disk is said as one (ENOSPC), as a file system would."""
    try:
        with closing(sqlite3.connect(source, uri=True, timeout=LOCK_TIMEOUT_S)) as src, \
                closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
            dst.execute(f"PRAGMA journal_mode={journal}")
    except sqlite3.Error as exc:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            raise OSError(errno.ENOSPC, f"no space left for {target}") from exc
        raise


class EventStoreFiles(StoreFiles):
    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings
        self.backend = "postgres" if settings["PERSISTENCE_MODULE"] == "eventsourcing.postgres" else "sqlite"

    def _app(self) -> Any:
        from ai_how.app.store import AiHowApplication, opening

        return opening(lambda: AiHowApplication(env=self.settings), "event store")

    def copy_to(self, target: Path) -> int:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        try:
            if self.backend == "sqlite":
                _backup(self.settings["SQLITE_DBNAME"], target, "DELETE")  # one self-contained file, no -wal
                return count_events(target)
            source, copy_app = self._app(), _sqlite_app(target)
            try:
                return _copy_notifications(source, copy_app, source.recorder.max_notification_id() or 0)
            finally:
                source.close()
                copy_app.close()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot copy the event store to {target}: {exc}") from exc

    def load_from(self, source: Path) -> int:
        if self.event_count():
            raise StoreUnavailable("the event store already holds events: a restore goes into an empty one")
        if self.backend == "sqlite":
            target = Path(self.settings["SQLITE_DBNAME"])
            _backup(f"file:{source}?mode=ro", target, "WAL")
            os.chmod(target, 0o600)
            return count_events(target)
        copy_app, store = _sqlite_app(source), self._app()
        try:
            return _copy_notifications(copy_app, store, copy_app.recorder.max_notification_id() or 0)
        finally:
            copy_app.close()
            store.close()

    def event_count(self) -> int:
        if self.backend == "sqlite":
            db = Path(self.settings["SQLITE_DBNAME"])
            try:
                return count_events(db)
            except sqlite3.OperationalError:
                return 0  # a new file: no table yet
        app = self._app()
        try:
            return int(app.recorder.max_notification_id() or 0)
        finally:
            app.close()

    def move_aside(self) -> str:
        if self.backend == "postgres":
            raise UsageError("a PostgreSQL store is restored into an empty schema: name a new one "
                             "(--event-store 'postgresql://...?schema=NAME'); nothing was changed")
        db = Path(self.settings["SQLITE_DBNAME"])
        aside = db.parent / time.strftime("before-restore-%Y%m%dT%H%M%S")
        aside.mkdir(mode=0o700)
        for name in (f"{base}{suffix}" for base in (db.name, VIEWS_FILE) for suffix in ("", "-wal", "-shm")):
            if (db.parent / name).exists():
                os.replace(db.parent / name, aside / name)
        return str(aside)

    def integrity(self) -> list[str]:
        if self.backend == "postgres":
            return []  # PostgreSQL checks its pages itself; the log's own check is 'audit verify'
        with closing(sqlite3.connect(f"file:{self.settings['SQLITE_DBNAME']}?mode=ro", uri=True)) as conn:
            found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        return [] if found == ["ok"] else found

