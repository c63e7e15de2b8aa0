"""``ai-how host check``: where the config meets the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import EXIT_REFUSED, console, handles_errors, print_json, state

host_app = typer.Typer(help="This machine: is it ready for GPU passthrough?", no_args_is_help=True)

MARKS = {"pass": "[green]pass[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


@host_app.command("check")
@handles_errors
def check(ctx: typer.Context,
          config: Annotated[Optional[Path], typer.Argument(
              help="A cluster.yaml: also check every device it passes through.", show_default=False)] = None,
          json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """A pass/warn/fail checklist, each failure with its fix; exit 1 if anything fails."""
    from ai_how.app.host.checks import host_checks

    clusters = None
    if config is not None:
        from .cluster import planned_clusters

        clusters, _ = planned_clusters(config)
    from ai_how.app.bootstrap import find_virtiofsd

    checks = host_checks(state(ctx).pci_host(), clusters, find_virtiofsd())
    failed = [c for c in checks if c.status == "fail"]
    if json_output:
        print_json({"ready": not failed, "checks": [c.as_dict() for c in checks]})
    else:
        out = console()
        for c in checks:
            out.print(f"{MARKS[c.status]}  {c.subject}: {c.message}", soft_wrap=True)
            if c.fix and c.status != "pass":
                out.print(f"      fix: {c.fix}", soft_wrap=True)
        warned = len([c for c in checks if c.status == "warn"])
        out.print(f"{'not ready' if failed else 'ready'}: {len(failed)} failed, {warned} warning(s)")
    if failed:
        raise typer.Exit(EXIT_REFUSED)
