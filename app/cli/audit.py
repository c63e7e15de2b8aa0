"""``ai-how audit ...``"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ai_how.app.queries import audit_entries

from .common import console, handles_errors, print_json_line, state

audit_app = typer.Typer(help="The event log: what happened, in order.", no_args_is_help=True)


@audit_app.command("log")
@handles_errors
def log(ctx: typer.Context,
        json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """Every event in order: position, time, aggregate, type and payload."""
    cli = state(ctx)
    entries = audit_entries(cli.store(), cli.topology())
    if json_output:
        for entry in entries:
            print_json_line(entry.as_dict())
        return
    from rich.table import Table

    table = Table("#", "time (UTC)", "aggregate", "event", "payload")
    count = 0
    for entry in entries:
        e = entry.event
        table.add_row(str(e.position), e.timestamp.strftime("%Y-%m-%d %H:%M:%S"), entry.subject, e.event_type,
                      json.dumps(e.payload, separators=(",", ":"), default=str))
        count += 1
    out = console()
    if count == 0:
        out.print("The event log is empty.")
    else:
        out.print(table)
