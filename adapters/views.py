"""The topology views: in an SQLite file beside the log, or in the log's PostgreSQL database.

Built on eventsourcing's tracking recorders: the changed rows and the log position they are
caught up to are written in one transaction, and a save moves the position only forward from
where its writer started, so each event is applied exactly once even when two processes
catch up at the same time. Only ``replace`` (``audit replay``) sets it anew.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eventsourcing.persistence import PersistenceError
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteDatastore, SQLiteTrackingRecorder

from ai_how.app.errors import StoreUnavailable
from ai_how.app.ports import ViewsConflict
from ai_how.app.readside.projection import Topology

from .event_store import LOCK_TIMEOUT_S, check_readable, prepare_state_dir

VIEWS_FILE = "views.sqlite"
TRACKED = "AiHow"


class _Refused(Exception):
    """The views' position is outside what a save may move it from."""


class ViewTables:
    """load/save/replace/dump over ``view_<table>`` tables of (key, data) rows."""

    param = "?"

    def table(self, name: str) -> str:
        return f"view_{name}"

    def _select(self, statement: str, params: tuple[Any, ...]) -> list[Any]:
        """One statement, so one consistent snapshot, however the backend runs it."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return c.fetchall()

    def load(self) -> Topology:
        """Every row and the position in one statement (one round trip on PostgreSQL)."""
        topology = Topology()
        union = " UNION ALL ".join(
            [f"SELECT '{t}' AS name, key, data FROM {self.table(t)}" for t in Topology.TABLES]
            + [f"SELECT '' AS name, '' AS key, CAST(MAX(notification_id) AS TEXT) AS data "
               f"FROM {self.tracking_table} WHERE application_name = {self.param}"])
        for row in self._select(union, (TRACKED,)):
            if row["name"]:
                topology.table(row["name"])[row["key"]] = json.loads(row["data"])
            else:
                topology.position = int(row["data"] or 0)
        return topology

    def save(self, topology: Topology, since: int = 0) -> None:
        """The changed rows and the new position, in one transaction, only if the views
        stand at ``since`` or later and before the topology's position; ``ViewsConflict``
        (with where they stand) otherwise, and nothing is written."""
        p = self.param
        move = (f"UPDATE {self.tracking_table} SET notification_id = {p} WHERE application_name = {p} "
                f"AND notification_id >= {p} AND notification_id < {p} RETURNING notification_id")
        first = (f"INSERT INTO {self.tracking_table} (application_name, notification_id) VALUES ({p}, {p}) "
                 "ON CONFLICT (application_name) DO NOTHING RETURNING notification_id")
        try:
            with self.datastore.transaction(commit=True) as c:
                self._write_changed(c, topology)
                c.execute(move, (topology.position, TRACKED, since, topology.position))
                moved = c.fetchone() is not None
                if not moved and since == 0:  # the views' first position
                    c.execute(first, (TRACKED, topology.position))
                    moved = c.fetchone() is not None
                if not moved:
                    raise _Refused
        except _Refused:
            raise ViewsConflict(self.position()) from None
        topology.changed.clear()

    def _write_changed(self, c: Any, topology: Topology) -> None:
        p = self.param
        for table in Topology.TABLES:
            rows = [(key, json.dumps(topology.table(table)[key], sort_keys=True))
                    for changed, key in sorted(topology.changed) if changed == table]
            if rows:  # executemany: one round trip per table on PostgreSQL (pipelined)
                c.executemany(f"INSERT INTO {self.table(table)} (key, data) VALUES ({p}, {p}) "
                              "ON CONFLICT (key) DO UPDATE SET data = excluded.data", rows)

    def position(self) -> int:
        rows = self._select(f"SELECT MAX(notification_id) AS position FROM {self.tracking_table} "
                            f"WHERE application_name = {self.param}", (TRACKED,))
        return int(rows[0]["position"] or 0)

    def replace(self, topology: Topology) -> None:
        """Every row and the position in place of what the views held, in one transaction."""
        p = self.param
        topology.changed = {(table, key) for table in Topology.TABLES for key in topology.table(table)}
        with self.datastore.transaction(commit=True) as c:
            for table in Topology.TABLES:
                c.execute(f"DELETE FROM {self.table(table)}")
            self._write_changed(c, topology)
            c.execute(f"DELETE FROM {self.tracking_table} WHERE application_name = {p}", (TRACKED,))
            c.execute(f"INSERT INTO {self.tracking_table} (application_name, notification_id) VALUES ({p}, {p})",
                      (TRACKED, topology.position))
        topology.changed.clear()

    def dump(self) -> dict[str, dict[str, Any]]:
        topology = self.load()
        return {table: topology.table(table) for table in Topology.TABLES} | {"position": {"": topology.position}}

    def close(self) -> None:
        self.datastore.close()


class _ViewsPool(SQLiteConnectionPool):
    """Views commit without waiting for the disk (WAL, synchronous=NORMAL): a power cut can
    lose their last commits, never their consistency — rows and position commit together —
    and the next catch-up applies those events again from the log."""

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        return connection


class SQLiteViews(ViewTables, SQLiteTrackingRecorder):
    tracking_table = "tracking"

    def __init__(self, state_dir: Path) -> None:
        db = prepare_state_dir(state_dir, VIEWS_FILE)
        check_readable(db)
        datastore = SQLiteDatastore(str(db), lock_timeout=LOCK_TIMEOUT_S)
        datastore.pool = _ViewsPool(db_name=str(db), lock_timeout=LOCK_TIMEOUT_S)
        super().__init__(datastore)
        try:
            self.create_table()
        except PersistenceError as exc:
            raise StoreUnavailable(f"cannot open the views {db}: {exc}; 'ai-how audit replay' rebuilds them") from exc

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements += [f"CREATE TABLE IF NOT EXISTS {self.table(t)} (key TEXT PRIMARY KEY, data TEXT NOT NULL)"
                       for t in Topology.TABLES]
        return statements


def postgres_views(settings: dict[str, str]) -> ViewTables:
    """Views in the same PostgreSQL database and schema as the log."""
    from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
    from psycopg.sql import SQL

    schema = settings["POSTGRES_SCHEMA"]

    class PostgresViews(ViewTables, PostgresTrackingRecorder):
        param = "%s"
        tracking_table = f'"{schema}".aihow_views_tracking'

        def table(self, name: str) -> str:
            return f'"{schema}".aihow_view_{name}'

        def _select(self, statement: str, params: tuple[Any, ...]) -> list[Any]:
            # Autocommit: one round trip, where a transaction would add BEGIN and ROLLBACK.
            with self.datastore.get_connection() as conn, conn.cursor() as c:
                c.execute(statement, params)
                return c.fetchall()

    class ViewsDatastore(PostgresDatastore):
        """Views commit without waiting for the WAL flush (synchronous_commit off), for the
        reason the SQLite views do: a crash can lose their last commits, never their
        consistency, and the next catch-up applies those events again from the log."""

        def after_connect_func(self):
            prepare = super().after_connect_func()

            def after_connect(conn) -> None:
                prepare(conn)
                conn.cursor().execute("SET synchronous_commit = off")

            return after_connect

    datastore = ViewsDatastore(
        settings["POSTGRES_DBNAME"], settings["POSTGRES_HOST"], settings["POSTGRES_PORT"],
        settings["POSTGRES_USER"], settings["POSTGRES_PASSWORD"], schema=schema,
        connect_timeout=float(settings["POSTGRES_CONNECT_TIMEOUT"]),
        lock_timeout=int(settings["POSTGRES_LOCK_TIMEOUT"]), pool_size=int(settings["POSTGRES_POOL_SIZE"]),
        max_overflow=int(settings["POSTGRES_MAX_OVERFLOW"]))
    views = PostgresViews(datastore, tracking_table_name="aihow_views_tracking")
    views.sql_create_statements += [
        SQL(f"CREATE TABLE IF NOT EXISTS {views.table(t)} (key TEXT PRIMARY KEY, data TEXT NOT NULL)")
        for t in Topology.TABLES]
    try:
        views.create_table()
    except PersistenceError as exc:
        raise StoreUnavailable(f"cannot open the views in PostgreSQL: {exc}") from exc
    return views
