"""``ai-how audit ...``: the log, its replay, the past, and the rules."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer

from .common import EXIT_REFUSED, console, handles_errors, print_json, print_json_line, state
from .options import JsonFlag
from .topology import render_tree

audit_app = typer.Typer(help="The event log: what happened, in order; the past; the rules.", no_args_is_help=True)

@audit_app.command("log")
@handles_errors
def log(
    ctx: typer.Context,
    since: Annotated[Optional[str], typer.Option(help="From this time (ISO 8601, or an age: 30m, 2h, 7d).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Up to this time (ISO 8601, or an age).")] = None,
    cluster: Annotated[Optional[str], typer.Option(help="Only events of this cluster and its VMs and GPUs.")] = None,
    vm: Annotated[Optional[str], typer.Option(help="Only events of this VM, and GPU events naming it.")] = None,
    gpu: Annotated[Optional[str], typer.Option(help="Only events of this GPU (PCI address).")] = None,
    types: Annotated[Optional[list[str]], typer.Option("--type", help="Only these event types (repeatable).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="At most this many events.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every event in order: position, time, aggregate, type and payload."""
    from ai_how.app.readside.log import AuditFilter, audit_entries

    wanted = AuditFilter.of(since, until, cluster, vm, gpu, tuple(types or ()), limit)
    cli = state(ctx)
    entries = audit_entries(cli.store(), cli.topology(), wanted)
    if json_output:
        for entry in entries:
            print_json_line(entry.as_dict())
        return
    _show_log(entries, wanted != AuditFilter())


def _show_log(entries: Any, filtered: bool) -> None:
    from rich.table import Table

    table = Table("#", "time (UTC)", "aggregate", "event", "payload")
    count = 0
    for entry in entries:
        e = entry.event
        table.add_row(str(e.position), e.timestamp.strftime("%Y-%m-%d %H:%M:%S"), entry.subject, e.event_type,
                      json.dumps(e.payload, separators=(",", ":"), default=str))
        count += 1
    console().print(table if count else "No event matches." if filtered else "The event log is empty.")


@audit_app.command("replay")
@handles_errors
def replay(ctx: typer.Context,
           json_output: JsonFlag = False) -> None:
    """Drop the views and rebuild them from the first event."""
    from ai_how.app.readside.views import rebuild

    cli = state(ctx)
    count, seconds = rebuild(cli.store(), cli.views())
    rate = count / seconds if seconds > 0 else 0.0
    if json_output:
        print_json({"events": count, "seconds": round(seconds, 3), "events_per_second": round(rate)})
    else:
        console().print(f"replayed {count} events in {seconds:.2f} s ({rate:,.0f} events/s); the views are rebuilt")


@audit_app.command("at")
@handles_errors
def at(ctx: typer.Context,
       when: Annotated[str, typer.Argument(help="A log position (e.g. 42) or a time (ISO 8601, or an age: 2h).",
                                           show_default=False)],
       json_output: JsonFlag = False) -> None:
    """The topology as it was at a position of the log or at a time."""
    from ai_how.app.readside.log import parse_moment
    from ai_how.app.readside.topology import topology_tree
    from ai_how.app.readside.views import topology_at

    store = state(ctx).store()
    if when.isdigit():
        past = topology_at(store, position=int(when))
        title = f"topology at position {when}"
    else:
        moment = parse_moment(when, "the time")
        past = topology_at(store, moment=moment)
        title = f"topology at {moment.isoformat(timespec='seconds')} (position {past.position})"
    tree = topology_tree(past)
    if json_output:
        print_json(tree)
    else:
        console().print(render_tree(tree, title))


@audit_app.command("verify")
@handles_errors
def verify(ctx: typer.Context,
           json_output: JsonFlag = False) -> None:
    """Replay the whole log checking that no rule was ever broken; exit 1 listing where one was."""
    from ai_how.app.readside.audit import verify as verify_log

    count, violations = verify_log(state(ctx).store())
    if json_output:
        print_json({"events": count, "violations": [v.__dict__ for v in violations]})
    elif not violations:
        console().print(f"verified {count} events: never two holders of one GPU, releases only by the holder, "
                        "no VM started without its GPUs, nothing after a destroy")
    for violation in violations:
        typer.echo(f"violation: {violation}", err=True)
    if violations:
        raise typer.Exit(EXIT_REFUSED)
