"""The topology views in their own SQLite file beside the log (``views.sqlite``).

Built on eventsourcing's tracking recorder: the changed rows and the log position they are
caught up to are written in one transaction, and the position only ever moves forward, so
each event is applied exactly once even when two processes catch up at the same time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from ai_how.app.errors import StoreUnavailable
from ai_how.app.ports import ViewsConflict
from ai_how.app.projection import Topology

from .event_store import LOCK_TIMEOUT_S, check_readable, prepare_state_dir

VIEWS_FILE = "views.sqlite"
TRACKED = "AiHow"


class SQLiteViews(SQLiteTrackingRecorder):
    def __init__(self, state_dir: Path) -> None:
        db = prepare_state_dir(state_dir, VIEWS_FILE)
        check_readable(db)
        super().__init__(SQLiteDatastore(str(db), lock_timeout=LOCK_TIMEOUT_S))
        try:
            self.create_table()
        except PersistenceError as exc:
            raise StoreUnavailable(f"cannot open the views {db}: {exc}; 'ai-how audit replay' rebuilds them") from exc

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements += [f"CREATE TABLE IF NOT EXISTS view_{t} (key TEXT PRIMARY KEY, data TEXT NOT NULL)"
                       for t in Topology.TABLES]
        return statements

    def load(self) -> Topology:
        topology = Topology()
        with self.datastore.transaction(commit=False) as c:
            for table in Topology.TABLES:
                c.execute(f"SELECT key, data FROM view_{table}")
                topology.table(table).update({row["key"]: json.loads(row["data"]) for row in c.fetchall()})
            topology.position = self._max_tracking_id(TRACKED, c) or 0
        return topology

    def save(self, topology: Topology) -> None:
        try:
            with self.datastore.transaction(commit=True) as c:
                for table, key in sorted(topology.changed):
                    c.execute(f"INSERT INTO view_{table} (key, data) VALUES (?, ?) "
                              "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                              (key, json.dumps(topology.table(table)[key], sort_keys=True)))
                self._insert_tracking(c, Tracking(TRACKED, topology.position))
        except IntegrityError:
            raise ViewsConflict(topology.position) from None
        topology.changed.clear()

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            for table in Topology.TABLES:
                c.execute(f"DELETE FROM view_{table}")
            c.execute("DELETE FROM tracking WHERE application_name = ?", (TRACKED,))

    def dump(self) -> dict[str, dict[str, Any]]:
        topology = self.load()
        return {table: topology.table(table) for table in Topology.TABLES} | {"position": {"": topology.position}}
