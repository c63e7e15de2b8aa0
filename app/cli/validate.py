"""``ai-how validate`` and ``ai-how config schema``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ai_how.app.config.errors import ConfigError

if TYPE_CHECKING:
    from ai_how.app.config.validation import Report

from .common import EXIT_USAGE, console, handles_errors, print_json

config_app = typer.Typer(help="The cluster configuration file.", no_args_is_help=True)

ConfigPath = Annotated[Path, typer.Argument(help="Path of the cluster.yaml to read.", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _render(source: str, report: Report) -> None:
    from rich.table import Table

    out = console()
    vms = sum(len(c.vms) for c in report.clusters)
    gpus = len({g for c in report.clusters for vm in c.vms for g in vm.plan.spec.gpus})
    out.print(f"[green]✓[/green] {source} is valid: {len(report.clusters)} cluster(s), {vms} VM(s), {gpus} GPU(s)")
    for cluster in report.clusters:
        net = cluster.plan.network
        table = Table(title=f"{cluster.name} ({cluster.kind}) · network {net['subnet']} on {net['bridge']}",
                      title_justify="left")
        for column in ("VM", "role", "IP", "vCPU", "RAM GB", "disk GB", "GPUs", "auto_start"):
            table.add_column(column)
        for vm in cluster.vms:
            s = vm.plan.spec
            table.add_row(vm.name, vm.plan.role, s.ip or "-", str(s.cpu_cores), f"{s.memory_gb:g}", str(s.disk_gb),
                          " ".join(d.pci_address for d in s.devices) or "-",
                          "yes" if s.auto_start else "[yellow]no[/yellow]")
        out.print(table)
    if report.shared_gpus:
        out.print("[bold]GPU sharing between clusters[/bold]")
        for shared in report.shared_gpus:
            colour = "yellow" if shared.collides_at_start else "magenta"
            out.print(f"  [{colour}]•[/{colour}] {shared.summary()}", soft_wrap=True)
    else:
        out.print("No GPU is configured in both clusters.")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


KubesprayOption = Annotated[Path | None, typer.Option(
    "--kubespray", help="A Kubespray checkout (default: AI_HOW_KUBESPRAY_DIR, then global.kubespray.path).")]


@handles_errors
def validate(config: ConfigPath, json_output: JsonFlag = False, kubespray: KubesprayOption = None) -> None:
    """Check a cluster.yaml and print the plan: VMs, roles, IPs, GPUs and GPU sharing."""
    from ai_how.app.config.checked import checked
    from ai_how.app.config.report_json import report_json

    source = str(config)
    try:
        report, _ = checked(config, kubespray)
    except ConfigError as exc:
        if json_output:
            print_json(report_json(source, None, exc))
            raise typer.Exit(EXIT_USAGE) from None
        typer.echo(f"error: {source} is not a valid cluster config ({len(exc.issues)} problem(s)):", err=True)
        for issue in exc.issues:
            typer.echo(f"  {issue}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if json_output:
        print_json(report_json(source, report))
    elif report.valid:
        _render(source, report)
    if not report.valid:
        if not json_output:
            typer.echo(f"error: {source} is not a valid cluster config ({len(report.errors)} problem(s)):", err=True)
            for finding in report.errors:
                typer.echo(f"  {finding}", err=True)
            for warning in report.warnings:
                typer.echo(f"warning: {warning}", err=True)
        raise typer.Exit(EXIT_USAGE)


@config_app.command("schema")
@handles_errors
def schema() -> None:
    """Print the JSON Schema of cluster.yaml."""
    from ai_how.app.config.models import json_schema

    print_json(json_schema())
