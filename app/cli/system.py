"""``ai-how system ...``: both clusters as one platform."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ai_how.app.errors import UsageError

from . import options as opt
from .common import confirm, console, handles_errors, job_policy, over_capacity, print_json, state
from .config_input import valid_config
from .render import cluster_table
from .shared import after_destroy, before_destroy, shared_of

system_app = typer.Typer(help="The whole platform: HPC and Cloud together.", no_args_is_help=True)

OptionalConfig = Annotated[Optional[Path], typer.Argument(
    help="The cluster.yaml (optional: every cluster recorded here).", show_default=False)]


def _plans(config: Path) -> tuple[list[Any], Any]:
    report, parsed = valid_config(config)
    for kind in ("hpc", "cloud"):
        if not any(c.kind == kind for c in report.clusters):
            typer.echo(f"note: {config} has no {kind} cluster; working on the other one alone", err=True)
    return report.clusters, parsed


def _names(ctx: typer.Context, config: Path | None) -> tuple[list[str], str | None]:
    from ai_how.app.readside.queries import cluster_names

    if config is not None:
        clusters, parsed = _plans(config)
        return [c.name for c in clusters], parsed.global_.libvirt_uri
    names = cluster_names(state(ctx).topology())
    if not names:
        raise UsageError("no cluster is recorded here; pass the CONFIG the platform was started from")
    return names, None


@system_app.command("start")
@handles_errors
def start(ctx: typer.Context, config: opt.ConfigArg,
          wait: opt.StartWait = 600,
          force: opt.ForceCapacity = False, yes: opt.Yes = False) -> None:
    """Start the HPC cluster, then the Cloud cluster; if Cloud fails, undo what this started on HPC.
    Both together are held to the host's capacity before either starts."""
    from ai_how.domain.commands import CapacityPolicy, StartSystem

    clusters, parsed = _plans(config)
    bus = state(ctx).reconciled(parsed.global_.libvirt_uri, start_wait_s=wait)
    limits = parsed.global_
    result = over_capacity(lambda forced: bus.handle(StartSystem(tuple(c.plan for c in clusters), CapacityPolicy(
        limits.host_reserve_gb, limits.max_vcpu_ratio, forced))), force, yes)
    out = console()
    for name, started in result.clusters.items():
        out.print(f"{name}: started {', '.join(started.started) or 'nothing new'}"
                  + (f"; left off (auto_start: false): {', '.join(started.left_off)}" if started.left_off else ""))
    _overview(ctx, [c.name for c in clusters], json_output=False)


@system_app.command("stop")
@handles_errors
def stop(ctx: typer.Context, config: OptionalConfig = None, timeout: opt.StopTimeout = 60, drain: opt.DrainJobs = False,
         drain_timeout: opt.DrainTimeout = 600, force: opt.ForceStop = False) -> None:
    """Stop the Cloud cluster, then the HPC cluster, releasing every GPU."""
    from ai_how.domain.commands import StopSystem

    names, uri = _names(ctx, config)
    jobs = job_policy(drain, force, drain_timeout)
    results = state(ctx).reconciled(uri).handle(StopSystem(tuple(names), timeout, jobs))
    for name, result in results.items():
        for note in result.notes:
            console().print(note)
        console().print(f"{name}: stopped {', '.join(result.acted_on) or 'nothing was running'}")


def _overview(ctx: typer.Context, names: list[str], json_output: bool) -> None:
    from ai_how.app.readside.queries import cluster_view, shared_resources

    cli = state(ctx)
    topology = cli.topology()
    views = [v for v in (cluster_view(topology, cli.hypervisor(), n) for n in names) if v is not None]
    shared = shared_resources(topology, views)
    if json_output:
        print_json({"clusters": [v.as_dict() for v in views], "shared_resources": [r.as_dict() for r in shared],
                    "absent": [n for n in names if n not in {v.name for v in views}]})
        return
    from rich.table import Table

    out = console()
    for view in views:
        out.print(cluster_table(view))
    for name in names:
        if name not in {v.name for v in views}:
            out.print(f"{name}: not started here")
    table = Table(title="Shared resources", title_justify="left")
    for column in ("GPU", "model", *[v.name for v in views], "holder"):
        table.add_column(column)
    for row in shared:
        table.add_row(row.pci_address, row.model, *[", ".join(row.configured.get(v.name, [])) or "-" for v in views],
                      f"[magenta]{row.holder}[/magenta]" if row.holder else "[green]free[/green]")
    out.print(table if shared else "No GPU is configured in these clusters.")


@system_app.command("status")
@handles_errors
def status(ctx: typer.Context, config: OptionalConfig = None,
           json_output: opt.JsonFlag = False) -> None:
    """One overview: both clusters, their VMs, and each GPU with the VMs configured for it and its holder."""
    names, uri = _names(ctx, config)
    state(ctx).reconciled(uri, strict=False)
    _overview(ctx, names, json_output)


@system_app.command("destroy")
@handles_errors
def destroy(ctx: typer.Context, config: OptionalConfig = None, drain: opt.DrainJobs = False,
            drain_timeout: opt.DrainTimeout = 600, force: opt.ForceStop = False,
            yes: opt.Confirmed = False,
            timeout: opt.StopTimeout = 60, purge_data: opt.PurgeData = False) -> None:
    """Destroy both clusters (Cloud first) after one confirmation. The HPC cluster's shared
    storage stays, unless --purge-data."""
    from ai_how.domain.commands import DestroySystem

    names, uri = _names(ctx, config)
    confirm(f"Destroy {' and '.join(names)}: stop their VMs and delete them with their disks, pools and networks?",
            yes, f"destroy {' and '.join(names)}")
    cli = state(ctx)
    bus = cli.reconciled(uri)
    kept = [found for name in names if (found := shared_of(cli, name)) is not None]
    for found in kept:
        if found.host_path is None:
            before_destroy(found, purge_data, yes)
    results = bus.handle(DestroySystem(tuple(names), timeout, job_policy(drain, force, drain_timeout)))
    for name, result in results.items():
        if not result.known and not result.removed.anything:
            console().print(f"{name} does not exist here: nothing to destroy")
        else:
            console().print(f"destroyed {name}: {len(result.removed.domains)} domain(s), "
                            f"{len(result.removed.volumes)} disk(s)")
    for found in kept:
        after_destroy(found, purge_data, yes)
