"""A playbook run on the terminal: each host's current task and its ok/changed/failed counts.

On a terminal, a live table (rich) on stderr; piped (CI, logs), one line per task that changed
or failed, so that a log shows what the run did without every 'ok'.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

import typer

STATUSES = ("ok", "changed", "failed", "unreachable", "skipped")


class PlaybookProgress:
    def __init__(self) -> None:
        self.tasks: dict[str, str] = {}
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
        self.live: Any = None

    def __enter__(self) -> PlaybookProgress:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(self._table(), console=Console(stderr=True), refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(*exc)

    def __call__(self, subject: str, message: str) -> None:
        status, _, task = message.partition(": ")
        if status not in STATUSES:
            typer.echo(f"{subject}: {message}", err=True)
            return
        self.tasks[subject] = task
        self.counts[subject][status] += 1
        if self.live is not None:
            self.live.update(self._table())
        elif status in ("changed", "failed", "unreachable"):
            typer.echo(f"{subject}: {status}: {task}", err=True)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(title="playbook run", title_justify="left")
        for column in ("host", "task", "ok", "changed", "failed"):
            table.add_column(column)
        for host in sorted(self.tasks):
            counts = self.counts[host]
            failed = counts["failed"] + counts["unreachable"]
            table.add_row(host, self.tasks[host], str(counts["ok"]), f"[yellow]{counts['changed']}[/yellow]",
                          f"[red]{failed}[/red]" if failed else "0")
        return table
