"""What ``ai-how hpc`` and ``ai-how cloud`` share: start, stop, status and destroy. Each noun
(``hpc.py``, ``cloud.py``) gives a ``Noun``: how it deploys, reports a deploy and asks its
scheduler about its nodes.

No ``from __future__ import annotations``: the commands' help texts are f-strings of the
noun, which typer must evaluate in the factory's scope."""

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import CliState, confirm, console, fail, handles_errors, job_policy, over_capacity, print_json, state
from .config_input import cluster_name, planned_cluster
from .options import (
    ConfigArg,
    Confirmed,
    DrainJobs,
    DrainTimeout,
    ForceCapacity,
    ForceStop,
    JsonFlag,
    StartWait,
    StopTimeout,
    Yes,
)
from .render import cluster_table, deployment_line, service_line
from .shared import after_destroy, before_destroy


@dataclass(frozen=True)
class Noun:
    kind: str  # hpc or cloud
    words: str
    deploy_help: str
    more: str  # its own commands, for the noun's help
    prepare: Callable[[typer.Context, Any, Optional[Path]], None]  # before a start --deploy makes anything
    deploy: Callable[[typer.Context, Any, Any, Any, Optional[Path]], Any]  # -> DeployRun
    report: Callable[[CliState, str, Any], None]
    nodes: Callable[[CliState, Any], Any]  # a NodesView
    shared: Callable[[CliState, str], Any]  # its shared storage (host.shared_storage.SharedStorage) or None
    column: str  # the status table's column for the scheduler's view


def cluster_app(noun: Noun) -> typer.Typer:
    kind = noun.kind
    app = typer.Typer(help=f"The {noun.words}: start, stop, status, destroy{noun.more}.", no_args_is_help=True)
    OptionalConfig = Annotated[Optional[Path], typer.Argument(
        help=f"The cluster.yaml (optional if only one {kind} cluster is recorded).")]

    @app.command("start")
    @handles_errors
    def start(ctx: typer.Context,
              config: ConfigArg,
              wait: StartWait = 600,
              deploy: Annotated[bool, typer.Option("--deploy", help=noun.deploy_help)] = False,
              kubespray: Annotated[Optional[Path], typer.Option(
                  "--kubespray", hidden=kind != "cloud", help="With --deploy: the Kubespray checkout (default: "
                  "AI_HOW_KUBESPRAY_DIR, then global.kubespray.path).")] = None,
              redefine: Annotated[bool, typer.Option(
                  "--redefine", help="Apply a changed config to the cluster's shut-off VMs first: domains "
                  "defined again, disks grown (never shrunk); running VMs keep their spec until stopped. "
                  "'ai-how plan CONFIG' shows the change.")] = False,
              force: ForceCapacity = False, yes: Yes = False, json_output: JsonFlag = False) -> None:
        """Create network, disks and VMs (adopting what exists), lease GPUs, start the auto_start VMs.

        Refused (exit 1) beyond the host: global.host_reserve_gb, global.max_vcpu_ratio per CPU."""
        from ai_how.app.readside.queries import cluster_view
        from ai_how.domain.commands import CapacityPolicy, StartCluster

        planned, parsed = planned_cluster(config, kind)
        cli, limits = state(ctx), parsed.global_
        bus = cli.reconciled(limits.libvirt_uri, start_wait_s=wait)
        if deploy:
            noun.prepare(ctx, parsed, kubespray)  # refused before anything starts
        with console().status(f"Starting {planned.name}…") if console().is_terminal else nullcontext():
            result = over_capacity(lambda forced: bus.handle(StartCluster(planned.plan, capacity=CapacityPolicy(
                limits.host_reserve_gb, limits.max_vcpu_ratio, forced), redefine=redefine,
                snapshot_keep=limits.snapshots.keep_before("redefine"))), force, yes)
        deployed = noun.deploy(ctx, bus, planned, parsed, kubespray) if deploy and json_output else None
        view = cluster_view(cli.topology(), cli.hypervisor(), planned.name)
        if view is None:
            raise fail(f"{planned.name} is not recorded here after its start; run 'ai-how reconcile'", 3)
        if json_output:
            print_json({**({"deployed": deployed and deployed.as_dict()} if deploy else {}), **result.as_dict(),
                        "cluster": view.as_dict()})
            return
        _report_start(kind, planned.name, result, view)
        if deploy:  # after the start's own report: a first deploy takes minutes
            noun.report(cli, planned.name, noun.deploy(ctx, bus, planned, parsed, kubespray))

    @app.command("stop")
    @handles_errors
    def stop(ctx: typer.Context, config: OptionalConfig = None, timeout: StopTimeout = 60, drain: DrainJobs = False,
             drain_timeout: DrainTimeout = 600, force: ForceStop = False) -> None:
        """Shut the cluster's VMs down (ACPI, then forced after --timeout) and release their GPUs."""
        from ai_how.domain.commands import StopCluster

        name, uri = cluster_name(ctx, config, kind)
        jobs = job_policy(drain, force, drain_timeout)
        result = state(ctx).reconciled(uri).handle(StopCluster(name, timeout, drain=not force, jobs=jobs))
        for note in result.notes:
            console().print(note)
        console().print(f"stopped: {', '.join(result.acted_on) or 'nothing was running'} ({name})")

    @app.command("status")
    @handles_errors
    def status(ctx: typer.Context, config: OptionalConfig = None, json_output: JsonFlag = False) -> None:
        """The cluster's VMs: role, IP, size, recorded and libvirt state, GPUs held, auto_start."""
        from ai_how.app.readside.queries import cluster_view, service_rows

        name, uri = cluster_name(ctx, config, kind)
        cli = state(ctx)
        cli.reconciled(uri, strict=False)
        view = cluster_view(cli.topology(), cli.hypervisor(), name)
        if view is None:
            raise fail(f"cluster {name} has not been started here; start it with 'ai-how {kind} start CONFIG'", 1)
        nodes = noun.nodes(cli, view)
        services = service_rows(cli.topology(), name) if kind == "cloud" else []
        if json_output:
            print_json({**view.as_dict(), **nodes.as_dict(kind), **({"services": services} if kind == "cloud" else {})})
            return
        out = console()
        out.print(cluster_table(view, nodes.states, noun.column))
        out.print(deployment_line(view.deployment))
        for service in services:
            out.print(service_line(service))
        if nodes.why:
            out.print(f"[yellow]{'SLURM' if kind == 'hpc' else 'Kubernetes'}'s view is not available: {nodes.why}[/yellow]")

    @app.command("destroy")
    @handles_errors
    def destroy(ctx: typer.Context, config: OptionalConfig = None, drain: DrainJobs = False,
                drain_timeout: DrainTimeout = 600, force: ForceStop = False, yes: Confirmed = False,
                timeout: StopTimeout = 60,
                purge_data: Annotated[bool, typer.Option(
                    "--purge-data", hidden=kind != "hpc", help="Also delete the cluster's shared storage and every "
                    "file on it (asks first; --yes answers).")] = False) -> None:
        """Stop and remove the cluster's VMs, disks, storage pool and network; release its GPUs.
        The HPC cluster's shared storage stays, unless --purge-data."""
        from ai_how.domain.commands import DestroyCluster

        name, uri = cluster_name(ctx, config, kind)
        confirm(f"Destroy {name}: stop its VMs and delete them with their disks (and snapshots), pool and network?",
                yes, f"destroy {name}")
        cli = state(ctx)
        cli.reconciled(uri)
        kept = noun.shared(cli, name)
        if kept is not None and kept.host_path is None:
            before_destroy(kept, purge_data, yes)
        result = cli.bus().handle(DestroyCluster(name, timeout, job_policy(drain, force, drain_timeout)))
        for note in result.notes:
            console().print(note)
        removed = result.removed
        if not result.known and not removed.anything:
            console().print(f"{name} does not exist here: nothing to destroy")
        else:
            console().print(f"destroyed {name}: {len(removed.domains)} domain(s), {len(removed.volumes)} disk(s)"
                            + (", its storage pool" if removed.pool else "")
                            + (", its network" if removed.network else ""))
        if kept is not None:
            after_destroy(kept, purge_data, yes)

    return app


def _report_start(kind: str, name: str, result: Any, view: Any) -> None:
    out = console()
    if result.redefined.snapshot:
        out.print(f"took snapshot {result.redefined.snapshot} of {name} first: 'ai-how snapshot restore {name} "
                  f"{result.redefined.snapshot}' puts it back")
    if result.redefined.added:
        out.print(f"added to {name}: {', '.join(result.redefined.added)}")
    for vm_name, changes in result.redefined.redefined.items():
        out.print(f"redefined {vm_name}: {'; '.join(changes)}")
    for vm_name in result.redefined.untouched:
        typer.echo(f"note: {vm_name} runs, so it keeps its spec: stop it ('ai-how vm stop {vm_name}') and run "
                   f"'ai-how {kind} start CONFIG --redefine' again to apply the change", err=True)
    for warning in result.prepared.warnings + result.prepared.differs:
        typer.echo(f"warning: {warning}", err=True)
    if result.prepared.created:
        out.print(f"created: {', '.join(result.prepared.created)}")
    if result.prepared.adopted:
        out.print(f"adopted (already defined as configured): {', '.join(result.prepared.adopted)}")
    out.print(f"started: {', '.join(result.started) or 'nothing new'}"
              + (f"; already running: {', '.join(result.already_running)}" if result.already_running else ""))
    if result.left_off:
        out.print(f"left off (auto_start: false): {', '.join(result.left_off)}; "
                  f"start by hand with 'ai-how vm start NAME'")
    out.print(cluster_table(view))
