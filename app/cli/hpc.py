"""``ai-how hpc ...``: the HPC (SLURM) cluster."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from ai_how.domain.deployment import DeployRun

from .cluster import Noun, cluster_app
from .common import EXIT_REFUSED, CliState, console, fail, handles_errors, print_json, state
from .config_input import cluster_name, planned_cluster
from .options import ConfigArg, JsonFlag
from .shared import shared_of, storage_line

OptionalConfig = Annotated[Optional[Path], typer.Argument(
    help="The cluster.yaml (optional if only one hpc cluster is recorded).")]


def _deploy(ctx: typer.Context, bus: Any, planned: Any, parsed: Any, kubespray: Optional[Path],
            limit: Optional[str] = None, check: bool = False, full: bool = False) -> DeployRun:
    from ai_how.app.deploy.slurm.saga import deploy

    with state(ctx).playbook_progress():
        return deploy(bus, planned, limit, check, full, parsed.global_.snapshots.keep_before("deploy"))


def report_deploy(cli: CliState, name: str, run: DeployRun) -> None:
    check, changed = run.check, run.changed
    summary = (f"{changed} change(s) {'would be made' if check else 'made'}" if changed else "nothing changed")
    console().print(f"{'checked' if check else 'deployed'} {name} in {run.seconds or 0:.0f} s (run {run.run_id}): "
                    f"{summary}; " + ", ".join(f"{host} {h.get('changed', 0)} changed of {h.get('ok', 0)} ok"
                                               for host, h in sorted((run.hosts or {}).items())))


def _slurm_nodes(cli: CliState, view: Any) -> Any:
    from ai_how.app.readside.live import slurm_nodes

    return slurm_nodes(cli.topology(), view, cli.slurm_at())


hpc_app = cluster_app(Noun(
    "hpc", "HPC (SLURM) cluster", "Then configure SLURM on it (ai-how hpc deploy).", ", deploy, ssh, inventory",
    prepare=lambda ctx, parsed, kubespray: None, deploy=_deploy, report=report_deploy, nodes=_slurm_nodes,
    column="slurm", shared=shared_of))


@hpc_app.command("deploy")
@handles_errors
def deploy_command(
        ctx: typer.Context,
        config: ConfigArg,
        limit: Annotated[Optional[str], typer.Option("--limit", help="Only this VM of the cluster.")] = None,
        check: Annotated[bool, typer.Option("--check", help="Say what would change; change nothing.")] = False,
        full: Annotated[bool, typer.Option("--full", help="Run every task on every node, even on nodes whose files, "
                                                          "key and daemons are already as deployed.")] = False,
        json_output: JsonFlag = False) -> None:
    """Configure SLURM on the running HPC cluster (MUNGE, slurmctld, slurmd, partitions, GPUs) with Ansible."""
    planned, parsed = planned_cluster(config, "hpc")
    bus = state(ctx).reconciled(parsed.global_.libvirt_uri)
    run = _deploy(ctx, bus, planned, parsed, None, limit, check, full)
    if json_output:
        print_json(run.as_dict())
    else:
        report_deploy(state(ctx), planned.name, run)


@hpc_app.command("storage")
@handles_errors
def storage_command(ctx: typer.Context, config: OptionalConfig = None, json_output: JsonFlag = False) -> None:
    """The cluster's shared storage: backend, mount point on every node, host folder, used and free."""
    name, uri = cluster_name(ctx, config, "hpc")
    cli = state(ctx)
    cli.reconciled(uri, strict=False)
    found = shared_of(cli, name)
    if found is None:
        raise fail(f"{name} has no shared storage: its config turns it off (storage.shared.enabled: false) or its "
                   "VMs boot no image to mount it", EXIT_REFUSED)
    if json_output:
        print_json(found.as_dict())
        return
    console().print(storage_line(name, found))


@hpc_app.command("ssh", context_settings={"allow_interspersed_args": False})
@handles_errors
def ssh_command(
        ctx: typer.Context,
        command: Annotated[Optional[list[str]], typer.Argument(
            help="A command to run on the controller (after --), e.g. -- srun -N2 hostname.")] = None,
        config: Annotated[Optional[Path], typer.Option("--config", help="The cluster.yaml (optional if only one hpc "
                                                                         "cluster is recorded).")] = None) -> None:
    """A shell, or a command, on the HPC cluster's controller (where sinfo, srun and sbatch run),
    started in your folder on the shared storage (/shared/USER), so a job's output is seen everywhere."""
    from .vm import open_ssh

    name, _ = cluster_name(ctx, config, "hpc")
    open_ssh(ctx, f"{name}-controller", list(command or []), shared_home=True)


@hpc_app.command("inventory")
@handles_errors
def inventory_command(
        ctx: typer.Context, config: OptionalConfig = None,
        output: Annotated[Optional[Path], typer.Option("--output", help="Write DIR/hosts.yaml (or hosts.ini) "
                                                                        "instead of printing.")] = None,
        fmt: Annotated[str, typer.Option("--format", help="yaml or ini.")] = "yaml") -> None:
    """The Ansible inventory of the running HPC VMs (slurm_controller, slurm_compute, slurm_gpu), from the log."""
    from ai_how.app.deploy.slurm.inventory import hpc_inventory_text

    name, uri = cluster_name(ctx, config, "hpc")
    cli = state(ctx)
    cli.reconciled(uri, strict=False)
    text, hosts = hpc_inventory_text(cli.topology(), name, cli.keys(), fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    (output / f"hosts.{fmt}").write_text(text)
    typer.echo(f"wrote {output / f'hosts.{fmt}'}: {hosts} running host(s) of {name}")


@hpc_app.command("oumi")
@handles_errors
def oumi_command(
        ctx: typer.Context, config: OptionalConfig = None,
        write: Annotated[bool, typer.Option("--write", help="Put the SSH stanza in the SSH config.")] = False,
        ssh_config: Annotated[Path, typer.Option("--ssh-config", help="The SSH config --write edits.")]
        = Path("~/.ssh/config"),
        json_output: JsonFlag = False) -> None:
    """What Oumi's launcher needs to run jobs here through its SLURM cloud: OUMI_SLURM_CONNECTIONS
    and an SSH stanza for the controller with the platform key and the pinned host key."""
    from ai_how.app.deploy.slurm.oumi import oumi_access, write_stanza

    name, uri = cluster_name(ctx, config, "hpc")
    cli = state(ctx)
    cli.reconciled(uri, strict=False)
    found = oumi_access(cli.topology(), name, cli.keys())
    changed = write_stanza(ssh_config.expanduser(), name, found.stanza) if write else None
    if json_output:
        print_json({"OUMI_SLURM_CONNECTIONS": found.connection, "ssh_config": found.stanza, "written": changed,
                    "controller_state": found.controller_state})
        return
    typer.echo(f"export OUMI_SLURM_CONNECTIONS={found.connection}")
    typer.echo(f"# in {ssh_config}:" if write else f"# for {ssh_config}:")
    typer.echo(found.stanza, nl=False)
    if write:
        typer.echo(f"# {'written' if changed else 'already there, unchanged'}", err=True)
    _oumi_warnings(found)


def _oumi_warnings(found: Any) -> None:
    if not found.boots_an_os:
        typer.echo(f"warning: {found.controller} boots no image, so no sshd answers there: give it base_image "
                   "(ai-how image build hpc-base) for Oumi to reach it", err=True)
    if found.controller_state != "running":
        typer.echo(f"warning: {found.controller} is {found.controller_state}: start it before 'oumi launch up "
                   f"--cluster {found.connection}'", err=True)
