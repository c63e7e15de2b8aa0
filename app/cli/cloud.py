"""``ai-how cloud deploy|inventory`` and ``ai-how kubespray setup|show``: Kubernetes on the
Cloud cluster, by Kubespray."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import console, handles_errors, print_json, state

kubespray_app = typer.Typer(help="The Kubespray checkout that deploys the Cloud cluster: setup, show.",
                            no_args_is_help=True)

KubesprayOption = Annotated[Optional[Path], typer.Option(
    "--kubespray", help="The Kubespray checkout (default: AI_HOW_KUBESPRAY_DIR, then global.kubespray.path).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _checkout(flag: Optional[Path], parsed: Any = None) -> Any:
    from ai_how.app.deploy.kubespray import locate, read_checkout

    configured = parsed.global_.kubespray.path if parsed is not None else None
    return read_checkout(locate(flag, os.environ, configured))


def _state_dir(ctx: typer.Context) -> Path:
    from ai_how.app.settings import resolve_state_dir

    return resolve_state_dir(state(ctx).state_dir, os.environ)


def _venvs(ctx: typer.Context) -> Path:
    """Where Kubespray's venvs are: ``AI_HOW_KUBESPRAY_VENV_DIR``, else under the state directory."""
    from ai_how.app.settings import resolve_kubespray_venvs

    return resolve_kubespray_venvs(_state_dir(ctx), os.environ)


def run_cloud_deploy(ctx: typer.Context, bus: Any, planned: Any, parsed: Any, flag: Optional[Path],
                     addons: bool = True) -> dict[str, Any]:
    from ai_how.app.deploy.hpc import deploy_outcome

    from .playbook_progress import PlaybookProgress

    checkout = _checkout(flag, parsed)
    from ai_how.app.deploy.cloud import deploy_command

    command = deploy_command(planned, checkout, _venvs(ctx), addons)
    progress = bus.dependencies["progress"]
    before = progress.sink
    with PlaybookProgress() as shown:
        progress.sink = shown
        try:
            started = bus.handle(command)
        finally:
            progress.sink = before
    return deploy_outcome(bus.store, planned.name, started.run_id)


def report_cloud_deploy(name: str, record: dict[str, Any], kubernetes: dict[str, Any] | None) -> None:
    hosts = record.get("hosts") or {}
    changed = sum(h.get("changed", 0) for h in hosts.values())
    nodes = ", ".join((kubernetes or {}).get("nodes", []))
    console().print(f"deployed Kubernetes {(kubernetes or {}).get('version', '?')} on {name} in "
                    f"{record['seconds']:.0f} s (run {record['run_id']}): {changed} change(s); nodes: {nodes}")
    if kubernetes:
        console().print(f"kubeconfig: {kubernetes['kubeconfig']}  (export KUBECONFIG={kubernetes['kubeconfig']})")


@handles_errors
def cloud_deploy_command(
        ctx: typer.Context,
        config: Annotated[Path, typer.Argument(help="The cluster.yaml.", show_default=False)],
        kubespray: KubesprayOption = None,
        no_addons: Annotated[bool, typer.Option("--no-addons", help="Kubernetes only: no GPU operator, MLOps, "
                                                                      "serving or monitoring add-ons.")] = False,
        limit: Annotated[Optional[str], typer.Option("--limit", help="Join this running worker (Kubespray's "
                                                                       "scale.yml) to the deployed cluster.")] = None,
        json_output: JsonFlag = False) -> None:
    """Deploy Kubernetes on the running Cloud cluster with Kubespray, then its enabled add-ons."""
    from ai_how.domain.commands import JoinNode

    from .cluster import planned_cluster

    planned, parsed = planned_cluster(config, "cloud")
    bus = state(ctx).reconciled(parsed.global_.libvirt_uri)
    if limit is not None:
        from .playbook_progress import PlaybookProgress

        progress = bus.dependencies["progress"]
        before = progress.sink
        with PlaybookProgress() as shown:
            progress.sink = shown
            try:
                run_id = bus.handle(JoinNode(planned.name, limit))
            finally:
                progress.sink = before
        if json_output:
            print_json({"joined": limit, "run_id": run_id})
        else:
            console().print(f"{limit} joined {planned.name} (run {run_id})")
        return
    record = run_cloud_deploy(ctx, bus, planned, parsed, kubespray, not no_addons)
    kubernetes = bus.store.read(_cluster_id(planned.name)).kubernetes
    if json_output:
        print_json({**record, "kubernetes": kubernetes and {k: v for k, v in kubernetes.items() if k != "layout"}})
    else:
        report_cloud_deploy(planned.name, record, kubernetes)


def _cluster_id(name: str) -> Any:
    from ai_how.domain.ids import cluster_id

    return cluster_id(name)


@handles_errors
def cloud_inventory_command(
        ctx: typer.Context,
        config: Annotated[Path, typer.Argument(help="The cluster.yaml.", show_default=False)],
        output: Annotated[Optional[Path], typer.Option("--output", help="Write DIR/hosts.yaml and "
                                                                        "DIR/group_vars/ (Kubespray's -i DIR).")] = None,
        kubespray: KubesprayOption = None) -> None:
    """Kubespray's inventory of the Cloud cluster: every VM of the config, its groups and variables."""
    from ai_how.app.deploy.kubernetes import kubernetes_settings, kubespray_inventory, ssh_access, write_inventory
    from ai_how.app.deploy.kubespray import locate

    from .cluster import planned_cluster

    planned, parsed = planned_cluster(config, "cloud")
    settings = kubernetes_settings(planned.section, planned.vms)
    version = settings["version"]
    if locate(kubespray, os.environ, parsed.global_.kubespray.path) is not None:
        version = _checkout(kubespray, parsed).resolve(version)
    elif version is not None:
        typer.echo(f"note: no Kubespray checkout is known, so kube_version is {version} as written; Kubespray "
                   "needs a full version it ships (pass --kubespray DIR to resolve it)", err=True)
    keys = state(ctx).bus(parsed.global_.libvirt_uri).dependencies["keys"]
    private_key, _ = keys.platform_key()
    logins = sorted({vm.plan.spec.login for vm in planned.vms})
    hosts = [{"name": vm.name, "role": vm.plan.role, "ip": vm.plan.spec.ip} for vm in planned.vms if vm.plan.spec.ip]
    skipped = [vm.name for vm in planned.vms if not vm.plan.spec.ip]
    files = kubespray_inventory(planned.name, hosts, settings, version,
                                ssh_access(logins[0], private_key, keys.known_hosts))
    if skipped:
        typer.echo(f"note: left out (no ip in the config): {', '.join(skipped)}", err=True)
    if output is None:
        import yaml

        for relative, content in files.items():
            typer.echo(f"# {relative}\n" + yaml.safe_dump(content, sort_keys=False), nl=False)
        return
    written = write_inventory(files, output)
    typer.echo(f"wrote {', '.join(str(p) for p in written)}: {len(hosts)} host(s) of {planned.name}")


@kubespray_app.command("setup")
@handles_errors
def kubespray_setup(
        ctx: typer.Context,
        directory: Annotated[Path, typer.Argument(help="The Kubespray checkout.", show_default=False)],
        rebuild: Annotated[bool, typer.Option("--rebuild", help="Make the venv anew even if one was made for "
                                                                "this requirements.txt.")] = False) -> None:
    """Make the checkout's own virtual environment (its requirements.txt) under the state directory
    (or AI_HOW_KUBESPRAY_VENV_DIR); one made whole for the same requirements is used again."""
    from ai_how.app.deploy.kubespray import setup

    checkout = _checkout(directory)
    installer = state(ctx).bus().dependencies["kubespray_installer"]
    binary = setup(checkout, _venvs(ctx), installer, lambda line: typer.echo(f"kubespray: {line}", err=True), rebuild)
    console().print(f"Kubespray {checkout.version} at {checkout.path} is ready: {binary}")


@kubespray_app.command("show")
@handles_errors
def kubespray_show(
        ctx: typer.Context,
        directory: Annotated[Optional[Path], typer.Argument(help="The checkout (default: AI_HOW_KUBESPRAY_DIR).")]
        = None,
        json_output: JsonFlag = False) -> None:
    """The checkout's release, the Kubernetes versions it ships and whether its venv is made."""
    checkout = _checkout(directory)
    venv = checkout.venv(_venvs(ctx))
    ready = checkout.made(_venvs(ctx))
    if json_output:
        print_json({"path": str(checkout.path), "version": checkout.version,
                    "kube_versions": list(checkout.kube_versions), "venv": str(venv), "ready": ready})
        return
    console().print(f"Kubespray {checkout.version} at {checkout.path}\n"
                    f"Kubernetes {checkout.kube_versions[-1]} to {checkout.kube_versions[0]} "
                    f"(default {checkout.kube_versions[0]})\n"
                    f"venv: {venv} ({'ready' if ready else 'not made: ai-how kubespray setup ' + str(checkout.path)})")


def node_rows(cli: Any, name: str) -> tuple[Optional[list[Any]], Optional[str]]:
    """The Kubernetes nodes as the API server reports them, or why not."""
    from ai_how.app.errors import InfrastructureError

    cluster = cli.bus().store.get(_cluster_id(name))
    if cluster is None or cluster.kubernetes is None:
        return None, None
    try:
        return cli.bus().dependencies["kubernetes"].nodes(Path(cluster.kubernetes["kubeconfig"])), None
    except InfrastructureError as exc:
        return None, str(exc)

