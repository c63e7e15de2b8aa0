"""``ai-how snapshot``: a cluster's disks at one point in time — create, list, restore, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import confirm, console, handles_errors, job_policy, print_json, state
from .options import Confirmed, DrainJobs, DrainTimeout, ForceStop, JsonFlag, StopTimeout
from .shared import before_restore

snapshot_app = typer.Typer(help="Snapshots of a cluster's disks: create, list, restore, delete.",
                           no_args_is_help=True)
ClusterArg = Annotated[str, typer.Argument(help="The cluster's name.", show_default=False)]
NameArg = Annotated[str, typer.Argument(help="The snapshot's name.", show_default=False)]


def _targets(ctx: typer.Context, target: str) -> tuple[list[str], Optional[str]]:
    """A config's clusters recorded here (and its libvirt URI), or one cluster's name."""
    from .config_input import planned_clusters

    if not Path(target).is_file():
        return [target], None
    planned, uri = planned_clusters(Path(target))
    recorded = set(state(ctx).topology().clusters)
    names = [p.name for p in planned if p.name in recorded]
    return names or [p.name for p in planned], uri


def _done(result: Any, verb: str) -> None:
    out = console()
    for note in result.notes:
        out.print(note, soft_wrap=True)
    for vm, what in result.vms.items():
        out.print(f"  {vm}: {what}", soft_wrap=True)
    out.print(f"{verb} snapshot {result.name} of cluster {result.cluster} in {result.seconds:.1f} s", soft_wrap=True)


@snapshot_app.command("create")
@handles_errors
def create(ctx: typer.Context,
           target: Annotated[str, typer.Argument(help="The cluster.yaml (its clusters recorded here) or a "
                                                      "cluster's name.", show_default=False)],
           name: Annotated[Optional[str], typer.Option("--name", help="Default: the time, YYYYMMDD-HHMMSS.")] = None,
           crash_consistent: Annotated[bool, typer.Option(
               "--crash-consistent", help="Running guests whose agent does not answer are taken unfrozen, "
               "as after a power cut.")] = False,
           json_output: JsonFlag = False) -> None:
    """Every VM of the cluster at one point in time: running guests' filesystems frozen together."""
    from datetime import datetime

    from ai_how.app.backup.snapshots import default_name
    from ai_how.domain.snapshot_commands import TakeSnapshot

    clusters, uri = _targets(ctx, target)
    bus = state(ctx).reconciled(uri)
    chosen = name or default_name(datetime.now())
    results = [bus.handle(TakeSnapshot(cluster, chosen, crash_consistent)) for cluster in clusters]
    if json_output:
        print_json([r.as_dict() for r in results])
        return
    for result in results:
        _done(result, f"took ({result.consistency}, {result.size_bytes / 2**20:,.0f} MiB)")


@snapshot_app.command("list")
@handles_errors
def list_snapshots(ctx: typer.Context,
                   cluster: Annotated[Optional[str], typer.Argument(help="Only this cluster's.")] = None,
                   json_output: JsonFlag = False) -> None:
    """Name, time, size, VMs and the state they were in."""
    from rich.table import Table

    from ai_how.app.readside.snapshot_queries import snapshot_rows

    rows = snapshot_rows(state(ctx).topology(), cluster)
    if json_output:
        print_json(rows)
        return
    table = Table("cluster", "name", "taken", "consistency", "size", "VMs (state then)", "why")
    for row in rows:
        vms = ", ".join(f"{vm} ({was}{', GPU' if vm in row['gpu_vms'] else ''})" for vm, was in row["vms"].items())
        table.add_row(row["cluster"], row["name"], row["taken_at"][:19].replace("T", " "), row["consistency"],
                      f"{row['size_bytes'] / 2**20:,.0f} MiB", vms, row["reason"])
    console().print(table if rows else "no snapshots" + (f" of cluster {cluster}" if cluster else ""))


@snapshot_app.command("restore")
@handles_errors
def restore(ctx: typer.Context, cluster: ClusterArg, name: NameArg, yes: Confirmed = False,
            timeout: StopTimeout = 60, drain: DrainJobs = False, drain_timeout: DrainTimeout = 600,
            force: ForceStop = False, json_output: JsonFlag = False) -> None:
    """Stop the cluster (SLURM's jobs asked first), put every disk back, start again what ran."""
    from ai_how.domain.snapshot_commands import RestoreSnapshot

    jobs = job_policy(drain, force, drain_timeout)
    bus = state(ctx).reconciled()
    storage = before_restore(state(ctx), cluster)
    if yes and storage:
        typer.echo(f"note: {storage}", err=True)
    question = f"Put every disk of cluster {cluster} back to snapshot {name}? What was written since is lost."
    confirm(f"{question} {storage}" if storage else question, yes, f"restore cluster {cluster}")
    result = bus.handle(RestoreSnapshot(cluster, name, timeout, jobs))
    if json_output:
        print_json(result.as_dict())
        return
    _done(result, "restored")


@snapshot_app.command("delete")
@handles_errors
def delete(ctx: typer.Context, cluster: ClusterArg, name: NameArg, yes: Confirmed = False,
           json_output: JsonFlag = False) -> None:
    """Forget the snapshot; its layer is folded into the next one, so chains stay short."""
    from ai_how.domain.snapshot_commands import DeleteSnapshot

    confirm(f"Delete snapshot {name} of cluster {cluster}?", yes, f"delete snapshot {name}")
    result = state(ctx).reconciled().handle(DeleteSnapshot(cluster, name))
    if json_output:
        print_json(result.as_dict())
        return
    _done(result, "deleted")
