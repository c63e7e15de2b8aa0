"""How every command takes its cluster.yaml: valid or refused (exit 2) with what is wrong,
and which recorded cluster a command without one means."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ai_how.app.errors import UsageError

from .common import EXIT_USAGE, state

if TYPE_CHECKING:
    from ai_how.app.config.plan import PlannedCluster


def valid_config(config: Path) -> tuple[Any, Any]:
    """The validation report and parsed config; a config with errors stops here with exit 2."""
    from ai_how.app.config.checked import checked

    report, parsed = checked(config)
    if not report.valid:
        typer.echo(f"error: {config} is not a valid cluster config; run 'ai-how validate {config}':", err=True)
        for finding in report.errors:
            typer.echo(f"  {finding}", err=True)
        raise typer.Exit(EXIT_USAGE)
    for finding in report.warnings:
        typer.echo(f"warning: {finding}", err=True)
    return report, parsed


def planned_cluster(config: Path, kind: str) -> tuple[PlannedCluster, Any]:
    """The config's cluster of ``kind``."""
    from ai_how.app.config.checked import planned_of

    report, parsed = valid_config(config)
    found = planned_of(report, kind)
    if found is None:
        raise UsageError(f"{config} defines no '{kind}' cluster (clusters.{kind} is missing)")
    return found, parsed


def planned_clusters(config: Path) -> tuple[list[PlannedCluster], str | None]:
    """Every cluster of a valid config, and its libvirt URI."""
    report, parsed = valid_config(config)
    return report.clusters, parsed.global_.libvirt_uri


def cluster_name(ctx: typer.Context, config: Optional[Path], kind: str) -> tuple[str, Optional[str]]:
    """From the config if given, else the one cluster of this kind in the store."""
    from ai_how.app.readside.queries import cluster_names

    if config is not None:
        planned, parsed = planned_cluster(config, kind)
        return planned.name, parsed.global_.libvirt_uri
    names = cluster_names(state(ctx).topology(), kind)
    if len(names) == 1:
        return names[0], None
    if not names:
        raise UsageError(f"no {kind} cluster is recorded here; pass the CONFIG it was started from")
    raise UsageError(f"several {kind} clusters are recorded ({', '.join(names)}); pass the CONFIG of the one you mean")
