"""``ai-how cloud ...``: the Cloud (Kubernetes) cluster, deployed by Kubespray."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from ai_how.domain.deployment import DeployRun

from .cluster import Noun, cluster_app
from .common import CliState, console, handles_errors, print_json, state
from .config_input import planned_cluster
from .kubespray import checkout, venvs
from .options import ConfigArg, JsonFlag, Kubespray


def _prepare(ctx: typer.Context, parsed: Any, kubespray: Optional[Path]) -> None:
    checkout(kubespray, parsed).ansible_playbook(venvs(ctx))  # no checkout or no venv: refused here


def _deploy(ctx: typer.Context, bus: Any, planned: Any, parsed: Any, kubespray: Optional[Path],
            addons: bool = True) -> DeployRun:
    from ai_how.app.deploy.kubespray.saga import deploy

    found = checkout(kubespray, parsed)
    with state(ctx).playbook_progress():
        return deploy(bus, planned, found, venvs(ctx), addons)


def report_deploy(cli: CliState, name: str, run: DeployRun) -> None:
    from ai_how.app.readside.queries import kubernetes_of

    kube = kubernetes_of(cli.topology(), name)
    console().print(f"deployed Kubernetes {kube.version if kube else '?'} on {name} in {run.seconds or 0:.0f} s "
                    f"(run {run.run_id}): {run.changed} change(s); nodes: {', '.join(kube.nodes if kube else ())}")
    if kube:
        console().print(f"kubeconfig: {kube.kubeconfig}  (export KUBECONFIG={kube.kubeconfig})")


def _kubernetes_nodes(cli: CliState, view: Any) -> Any:
    from ai_how.app.readside.live import kubernetes_nodes

    return kubernetes_nodes(view, cli.kubernetes())


cloud_app = cluster_app(Noun(
    "cloud", "Cloud (Kubernetes) cluster", "Then deploy Kubernetes and its add-ons on it (ai-how cloud deploy).",
    ", deploy, inventory", prepare=_prepare, deploy=_deploy, report=report_deploy, nodes=_kubernetes_nodes,
    column="kubernetes", shared=lambda cli, name: None))


@cloud_app.command("deploy")
@handles_errors
def deploy_command(
        ctx: typer.Context,
        config: ConfigArg,
        kubespray: Kubespray = None,
        no_addons: Annotated[bool, typer.Option("--no-addons", help="Kubernetes only: no GPU operator, MLOps, "
                                                                      "serving or monitoring add-ons.")] = False,
        limit: Annotated[Optional[str], typer.Option("--limit", help="Join this running worker (Kubespray's "
                                                                       "scale.yml) to the deployed cluster.")] = None,
        json_output: JsonFlag = False) -> None:
    """Deploy Kubernetes on the running Cloud cluster with Kubespray, then its enabled add-ons."""
    from ai_how.domain.commands import JoinNode

    planned, parsed = planned_cluster(config, "cloud")
    bus = state(ctx).reconciled(parsed.global_.libvirt_uri)
    if limit is not None:
        with state(ctx).playbook_progress():
            run_id = bus.handle(JoinNode(planned.name, limit))
        print_json({"joined": limit, "run_id": run_id}) if json_output else \
            console().print(f"{limit} joined {planned.name} (run {run_id})")
        return
    run = _deploy(ctx, bus, planned, parsed, kubespray, not no_addons)
    if json_output:
        from ai_how.app.readside.queries import kubernetes_of

        kube = kubernetes_of(state(ctx).topology(), planned.name)
        print_json({**run.as_dict(), "kubernetes": kube and kube.as_dict()})
    else:
        report_deploy(state(ctx), planned.name, run)


@cloud_app.command("inventory")
@handles_errors
def inventory_command(
        ctx: typer.Context,
        config: ConfigArg,
        output: Annotated[Optional[Path], typer.Option("--output", help="Write DIR/hosts.yaml and "
                                                                        "DIR/group_vars/ (Kubespray's -i DIR).")] = None,
        kubespray: Kubespray = None) -> None:
    """Kubespray's inventory of the Cloud cluster: every VM of the config, its groups and variables."""
    from ai_how.app.deploy.kubespray.checkout import locate
    from ai_how.app.deploy.kubespray.inventory import cloud_inventory, write_inventory

    planned, parsed = planned_cluster(config, "cloud")
    known = locate(kubespray, os.environ, parsed.global_.kubespray.path) is not None
    cli = state(ctx)
    cli.bus(parsed.global_.libvirt_uri)
    files, hosts, skipped = cloud_inventory(planned, checkout(kubespray, parsed) if known else None, cli.keys())
    _inventory_notes(planned, known, skipped)
    if output is None:
        import yaml

        for relative, content in files.items():
            typer.echo(f"# {relative}\n" + yaml.safe_dump(content, sort_keys=False), nl=False)
        return
    written = write_inventory(files, output)
    typer.echo(f"wrote {', '.join(str(p) for p in written)}: {len(hosts)} host(s) of {planned.name}")


def _inventory_notes(planned: Any, known: bool, skipped: list[str]) -> None:
    version = planned.section.kubernetes_config.version_number if not known else None
    if version is not None:
        typer.echo(f"note: no Kubespray checkout is known, so kube_version is {version} as written; Kubespray "
                   "needs a full version it ships (pass --kubespray DIR to resolve it)", err=True)
    if skipped:
        typer.echo(f"note: left out (no ip in the config): {', '.join(skipped)}", err=True)
