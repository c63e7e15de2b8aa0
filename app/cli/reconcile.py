"""``ai-how reconcile``: bring the log back to what libvirt shows, and deal with orphans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import EXIT_REFUSED, confirm, console, handles_errors, print_json, state
from .options import JsonFlag


@handles_errors
def reconcile(
    ctx: typer.Context,
    adopt: Annotated[Optional[Path], typer.Option(
        "--adopt", metavar="CONFIG", help="Record the clusters of CONFIG whose domains exist but the store lost.")] = None,
    remove: Annotated[bool, typer.Option(
        "--remove", help="Stop and delete domains made by ai-how that the store does not know, with their disks.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --remove.")] = False,
    json_output: JsonFlag = False,
) -> None:
    """Compare the store with libvirt and record what really happened; report orphan domains."""
    from ai_how.app.config.loader import load_config
    from ai_how.app.config.plan import plan_clusters
    from ai_how.domain.commands import AdoptOrphans, Reconcile, RemoveOrphans

    cli = state(ctx)
    if adopt is not None:
        config = load_config(adopt)
        bus = cli.bus(config.global_.libvirt_uri)
        report = bus.handle(AdoptOrphans(tuple(c.plan for c in plan_clusters(config))))
    elif remove:
        orphans = cli.bus().handle(Reconcile()).orphans
        if orphans:
            confirm(f"Remove {len(orphans)} orphan domain(s) and their disks: {', '.join(o.name for o in orphans)}?",
                    yes, "remove orphan domains")
        report = cli.bus().handle(RemoveOrphans())
    else:
        report = cli.bus().handle(Reconcile(moves=True))
    if json_output:
        print_json({"changes": report.changes, "conflicts": report.conflicts, "adopted": report.adopted,
                    "removed": report.removed, "orphans": [o.__dict__ for o in report.orphans]})
    else:
        _show(report)
    for conflict in report.conflicts:
        typer.echo(f"error: {conflict}", err=True)
    if report.conflicts:
        raise typer.Exit(EXIT_REFUSED)


def _show(report: Any) -> None:
    out = console()
    for change in report.changes:
        out.print(f"recorded: {change}")
    for name in report.adopted:
        out.print(f"adopted: {name}")
    for name in report.removed:
        out.print(f"removed: {name}")
    for orphan in report.orphans:
        out.print(f"orphan: {orphan.name} ({orphan.role} of {orphan.cluster}, {orphan.state}) was made by "
                  "ai-how but is unknown to this store; 'ai-how reconcile --adopt CONFIG' records it, "
                  "'--remove' deletes it")
    if not (report.changes or report.adopted or report.removed or report.orphans or report.conflicts):
        out.print("The store matches libvirt: nothing to record.")
