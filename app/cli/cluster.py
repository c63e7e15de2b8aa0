"""``ai-how hpc ...`` and ``ai-how cloud ...``: one factory, two nouns.

No ``from __future__ import annotations``: the commands' help texts are f-strings of ``kind``,
which typer must evaluate in the factory's scope."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from ai_how.app.config.plan import PlannedCluster

from ai_how.app.errors import UsageError

from .common import (
    EXIT_USAGE,
    ForceCapacity,
    Yes,
    confirm,
    console,
    fail,
    handles_errors,
    over_capacity,
    print_json,
    state,
)
from .render import cluster_table, deployment_line

KIND_WORDS = {"hpc": "HPC (SLURM) cluster", "cloud": "Cloud (Kubernetes) cluster"}

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
StopTimeout = Annotated[float, typer.Option("--timeout", min=0,
                                            help="Seconds to wait for an ACPI shutdown before forcing a VM off.")]


def valid_config(config: Path) -> tuple[Any, Any]:
    """The validation report and parsed config; a config with errors stops here with exit 2."""
    from ai_how.app.config.loader import load_config
    from ai_how.app.config.validation import validate_config

    from .validate import kube_versions

    parsed = load_config(config)
    report = validate_config(parsed, kube_versions(parsed))
    if not report.valid:
        typer.echo(f"error: {config} is not a valid cluster config; run 'ai-how validate {config}':", err=True)
        for finding in report.errors:
            typer.echo(f"  {finding}", err=True)
        raise typer.Exit(EXIT_USAGE)
    for finding in report.warnings:
        typer.echo(f"warning: {finding}", err=True)
    return report, parsed


def planned_cluster(config: Path, kind: str) -> "tuple[PlannedCluster, Any]":
    """The config's cluster of ``kind``."""
    report, parsed = valid_config(config)
    found = next((c for c in report.clusters if c.kind == kind), None)
    if found is None:
        raise UsageError(f"{config} defines no '{kind}' cluster (clusters.{kind} is missing)")
    return found, parsed


def planned_clusters(config: Path) -> "tuple[list[PlannedCluster], str | None]":
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


def cluster_app(kind: str) -> typer.Typer:
    noun = KIND_WORDS[kind]
    extra = ", deploy, ssh, inventory" if kind == "hpc" else ", deploy, inventory"
    app = typer.Typer(help=f"The {noun}: start, stop, status, destroy{extra}.", no_args_is_help=True)

    @app.command("start")
    @handles_errors
    def start(ctx: typer.Context,
              config: Annotated[Path, typer.Argument(help="The cluster.yaml.", show_default=False)],
              wait: Annotated[float, typer.Option("--wait", min=1, help="Seconds each VM may take to run and, when it boots an image, its guest to answer SSH.")] = 600,
              deploy: Annotated[bool, typer.Option("--deploy", help="Then configure SLURM on it (ai-how hpc deploy)."
                                                   if kind == "hpc" else "Then deploy Kubernetes and its add-ons "
                                                   "on it (ai-how cloud deploy).")] = False,
              kubespray: Annotated[Optional[Path], typer.Option(
                  "--kubespray", hidden=kind != "cloud",
                  help="With --deploy: the Kubespray checkout (default: AI_HOW_KUBESPRAY_DIR, then "
                  "global.kubespray.path).")] = None,
              redefine: Annotated[bool, typer.Option(
                  "--redefine", help="Apply a changed config to the cluster's shut-off VMs first: domains "
                  "defined again, disks grown (never shrunk); running VMs keep their spec until stopped. "
                  "'ai-how plan CONFIG' shows the change.")] = False,
              force: ForceCapacity = False, yes: Yes = False,
              json_output: JsonFlag = False) -> None:
        """Create network, disks and VMs (adopting what exists), lease GPUs, start the auto_start VMs.

        Refused (exit 1) when what would run exceeds the host: memory beyond its own less
        global.host_reserve_gb, or vCPUs beyond global.max_vcpu_ratio per CPU."""
        from ai_how.app.readside.queries import cluster_view
        from ai_how.domain.commands import CapacityPolicy, StartCluster

        planned, parsed = planned_cluster(config, kind)
        cli = state(ctx)
        bus = cli.reconciled(parsed.global_.libvirt_uri, start_wait_s=wait)
        if deploy and kind == "cloud":
            from .cloud import _checkout, _venvs

            _checkout(kubespray, parsed).ansible_playbook(_venvs(ctx))  # refused before anything starts

        def deploy_it() -> dict[str, Any]:
            if kind == "hpc":
                return run_deploy(bus, planned)
            from .cloud import run_cloud_deploy

            return run_cloud_deploy(ctx, bus, planned, parsed, kubespray)

        out = console()
        with out.status(f"Starting {planned.name}…") if out.is_terminal else _nothing():
            limits = parsed.global_
            result = over_capacity(lambda forced: bus.handle(StartCluster(planned.plan, capacity=CapacityPolicy(
                limits.host_reserve_gb, limits.max_vcpu_ratio, forced), redefine=redefine)), force, yes)
        deployed = deploy_it() if deploy and json_output else None
        view = cluster_view(cli.topology(), cli.hypervisor(), planned.name)
        if view is None:
            raise fail(f"{planned.name} is not recorded here after its start; run 'ai-how reconcile'", 3)
        if json_output:
            print_json({**({"deployed": deployed} if deploy else {}), "started": result.started, "already_running": result.already_running,
                        "left_off": result.left_off, "created": result.prepared.created,
                        "adopted": result.prepared.adopted, "differs": result.prepared.differs,
                        "warnings": result.prepared.warnings, "redefined": result.redefined.redefined, "added": result.redefined.added,
                        "kept_running": result.redefined.untouched, "cluster": view.as_dict()})
            return
        if result.redefined.added:
            out.print(f"added to {planned.name}: {', '.join(result.redefined.added)}")
        for vm_name, changes in result.redefined.redefined.items():
            out.print(f"redefined {vm_name}: {'; '.join(changes)}")
        for vm_name in result.redefined.untouched:
            typer.echo(f"note: {vm_name} runs, so it keeps its spec: stop it ('ai-how vm stop {vm_name}') and run "
                       f"'ai-how {kind} start CONFIG --redefine' again to apply the change", err=True)
        for warning in result.prepared.warnings:
            typer.echo(f"warning: {warning}", err=True)
        for difference in result.prepared.differs:
            typer.echo(f"warning: {difference}", err=True)
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
        if deploy:  # after the start's own report: a first deploy takes minutes
            record = deploy_it()
            if kind == "hpc":
                report_deploy(planned.name, record)
            else:
                from .cloud import _cluster_id, report_cloud_deploy

                report_cloud_deploy(planned.name, record, bus.store.read(_cluster_id(planned.name)).kubernetes)

    @app.command("stop")
    @handles_errors
    def stop(ctx: typer.Context,
             config: Annotated[Optional[Path], typer.Argument(help="The cluster.yaml (optional if only one "
                                                                   f"{kind} cluster is recorded).")] = None,
             timeout: StopTimeout = 60,
             force: Annotated[bool, typer.Option("--force", help="Do not drain Kubernetes nodes first.",
                                                 hidden=kind != "cloud")] = False) -> None:
        """Shut the cluster's VMs down (ACPI, then forced after --timeout) and release their GPUs."""
        from ai_how.domain.commands import StopCluster

        name, uri = cluster_name(ctx, config, kind)
        result = state(ctx).reconciled(uri).handle(StopCluster(name, timeout, drain=not force))
        for note in result.notes:
            console().print(note)
        console().print(f"stopped: {', '.join(result.acted_on) or 'nothing was running'} ({name})")

    @app.command("status")
    @handles_errors
    def status(ctx: typer.Context,
               config: Annotated[Optional[Path], typer.Argument(help="The cluster.yaml (optional if only one "
                                                                     f"{kind} cluster is recorded).")] = None,
               json_output: JsonFlag = False) -> None:
        """The cluster's VMs: role, IP, size, recorded and libvirt state, GPUs held, auto_start."""
        from ai_how.app.readside.queries import cluster_view

        name, uri = cluster_name(ctx, config, kind)
        cli = state(ctx)
        cli.reconciled(uri, strict=False)
        view = cluster_view(cli.topology(), cli.hypervisor(), name)
        if view is None:
            raise fail(f"cluster {name} has not been started here; start it with 'ai-how {kind} start CONFIG'", 1)
        slurm, why = slurm_states(cli, view) if kind == "hpc" else (None, None)
        if kind == "cloud":
            from .cloud import node_rows

            nodes, why = node_rows(cli, name)
            slurm = {n.name: ("Ready" if n.ready else "NotReady") + (",cordoned" if n.unschedulable else "")
                     + (f" gpu={n.gpus}" if n.gpus else "") for n in nodes} if nodes is not None else None
        services = []
        if kind == "cloud":
            from ai_how.app.readside.queries import service_rows

            services = service_rows(cli.topology(), name)
        if json_output:
            extra = ({"slurm": slurm, "slurm_error": why} if kind == "hpc" else
                     {"nodes": [{"name": n.name, "ready": n.ready, "unschedulable": n.unschedulable, "gpus": n.gpus,
                                 "labels": n.labels, "taints": list(n.taints)} for n in nodes]
                      if nodes is not None else None, "nodes_error": why, "services": services})
            print_json({**view.as_dict(), **extra})
            return
        out = console()
        out.print(cluster_table(view, slurm, "slurm" if kind == "hpc" else "kubernetes"))
        out.print(deployment_line(view.deployment))
        for service in services:
            spec = service["spec"]
            out.print(f"model {service['namespace']}/{service['name']}: {service['state']} · {spec.get('format')}"
                      + (f" · {spec['gpus']} GPU" if spec.get("gpus") else "")
                      + (f" · {service['url']}" if service["url"] else "")
                      + "".join(f" · on {p['node']}" + (f" ({', '.join(p['gpus'])})" if p["gpus"] else "")
                                for p in service["placement"]))
        if why:
            out.print(f"[yellow]{'SLURM' if kind == 'hpc' else 'Kubernetes'}'s view is not available: {why}[/yellow]")

    @app.command("destroy")
    @handles_errors
    def destroy(ctx: typer.Context,
                config: Annotated[Optional[Path], typer.Argument(help="The cluster.yaml (optional if only one "
                                                                      f"{kind} cluster is recorded).")] = None,
                yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
                timeout: StopTimeout = 60) -> None:
        """Stop and remove the cluster's VMs, disks, storage pool and network; release its GPUs."""
        from ai_how.domain.commands import DestroyCluster

        name, uri = cluster_name(ctx, config, kind)
        confirm(f"Destroy {name}: stop its VMs and delete them with their disks, pool and network?", yes,
                f"destroy {name}")
        result = state(ctx).reconciled(uri).handle(DestroyCluster(name, timeout))
        out = console()
        if not result.known and not result.removed.anything:
            out.print(f"{name} does not exist here: nothing to destroy")
            return
        removed = result.removed
        out.print(f"destroyed {name}: {len(removed.domains)} domain(s), {len(removed.volumes)} disk(s)"
                  + (", its storage pool" if removed.pool else "") + (", its network" if removed.network else ""))

    if kind == "hpc":
        app.command("deploy")(deploy_command)
        app.command("ssh", context_settings={"allow_interspersed_args": False})(ssh_command)
        app.command("inventory")(inventory_command)
        app.command("oumi")(oumi_command)
    else:
        from .cloud import cloud_deploy_command, cloud_inventory_command

        app.command("deploy")(cloud_deploy_command)
        app.command("inventory")(cloud_inventory_command)
    return app


def slurm_states(cli: Any, view: Any) -> tuple[Optional[dict[str, str]], Optional[str]]:
    """Each node's state as slurmctld reports it (sinfo on the controller), or why not."""
    from ai_how.app.errors import InfrastructureError

    if not view.deployment:
        return None, None
    controller = next((vm for vm in view.vms if vm.role == "controller"), None)
    if controller is None or controller.state != "running" or not controller.ip:
        return None, "the controller is not running"
    row = cli.topology().vms[controller.name]
    from ai_how.domain.specs import VmSpec

    try:
        return cli.bus().dependencies["slurm_at"](VmSpec.from_dict(row["spec"]).login, controller.ip).node_states(), None
    except InfrastructureError as exc:
        return None, str(exc)


def run_deploy(bus: Any, planned: Any, limit: Optional[str] = None, check: bool = False,
               full: bool = False) -> dict[str, Any]:
    """Run the deploy with its progress on the terminal; the run's record as the log has it."""
    from ai_how.app.deploy.hpc import deploy_outcome
    from ai_how.app.deploy.slurm import settings_of
    from ai_how.domain.commands import DeployCluster

    from .playbook_progress import PlaybookProgress

    progress = bus.dependencies["progress"]
    before = progress.sink
    with PlaybookProgress() as shown:
        progress.sink = shown
        try:
            started = bus.handle(DeployCluster(planned.name, settings_of(planned.section.slurm_config), limit, check,
                                               full))
        finally:
            progress.sink = before
    return deploy_outcome(bus.store, planned.name, started.run_id)


def report_deploy(name: str, record: dict[str, Any]) -> None:
    hosts = record.get("hosts") or {}
    changed = sum(h.get("changed", 0) for h in hosts.values())
    check = record.get("check")
    summary = (f"{changed} change(s) {'would be made' if check else 'made'}" if changed else "nothing changed")
    console().print(f"{'checked' if check else 'deployed'} {name} in {record['seconds']:.0f} s "
                    f"(run {record['run_id']}): {summary}; "
                    + ", ".join(f"{host} {h.get('changed', 0)} changed of {h.get('ok', 0)} ok"
                                for host, h in sorted(hosts.items())))


@handles_errors
def deploy_command(
        ctx: typer.Context,
        config: Annotated[Path, typer.Argument(help="The cluster.yaml.", show_default=False)],
        limit: Annotated[Optional[str], typer.Option("--limit", help="Only this VM of the cluster.")] = None,
        check: Annotated[bool, typer.Option("--check", help="Say what would change; change nothing.")] = False,
        full: Annotated[bool, typer.Option("--full", help="Run every task on every node, even on nodes whose files, "
                                                          "key and daemons are already as deployed.")] = False,
        json_output: JsonFlag = False) -> None:
    """Configure SLURM on the running HPC cluster (MUNGE, slurmctld, slurmd, partitions, GPUs) with Ansible."""
    planned, parsed = planned_cluster(config, "hpc")
    record = run_deploy(state(ctx).reconciled(parsed.global_.libvirt_uri), planned, limit, check, full)
    if json_output:
        print_json(record)
    else:
        report_deploy(planned.name, record)


@handles_errors
def ssh_command(
        ctx: typer.Context,
        command: Annotated[Optional[list[str]], typer.Argument(
            help="A command to run on the controller (after --), e.g. -- srun -N2 hostname.")] = None,
        config: Annotated[Optional[Path], typer.Option("--config", help="The cluster.yaml (optional if only one hpc "
                                                                         "cluster is recorded).")] = None) -> None:
    """A shell, or a command, on the HPC cluster's controller (where sinfo, srun and sbatch run)."""
    from .vm import open_ssh

    name, _ = cluster_name(ctx, config, "hpc")
    open_ssh(ctx, f"{name}-controller", list(command or []))


@handles_errors
def oumi_command(
        ctx: typer.Context,
        config: Annotated[Optional[Path], typer.Argument(help="The cluster.yaml (optional if only one hpc cluster "
                                                              "is recorded).")] = None,
        write: Annotated[bool, typer.Option("--write", help="Put the SSH stanza in the SSH config.")] = False,
        ssh_config: Annotated[Path, typer.Option("--ssh-config", help="The SSH config --write edits.")]
        = Path("~/.ssh/config"),
        json_output: JsonFlag = False) -> None:
    """What Oumi's launcher needs to run jobs here through its SLURM cloud: OUMI_SLURM_CONNECTIONS
    and an SSH stanza for the controller with the platform key and the pinned host key."""
    from ai_how.app.deploy.oumi import connection, stanza, write_stanza
    from ai_how.domain.specs import VmSpec

    name, uri = cluster_name(ctx, config, "hpc")
    cli = state(ctx)
    cli.reconciled(uri, strict=False)
    controller = f"{name}-controller"
    row = cli.topology().vms.get(controller)
    if row is None:
        raise UsageError(f"{name} has no controller VM recorded here; start it with 'ai-how hpc start CONFIG'")
    spec = VmSpec.from_dict(row["spec"])
    if not spec.ip:
        raise UsageError(f"{controller} has no static IP: Oumi has no host to reach; give it an ip in the config")
    keys = cli.bus().dependencies["keys"]
    private_key, _ = keys.platform_key()
    value, text = connection(spec.login, controller), stanza(controller, spec.ip, spec.login, private_key,
                                                             keys.known_hosts)
    changed = write_stanza(ssh_config.expanduser(), name, text) if write else None
    if json_output:
        print_json({"OUMI_SLURM_CONNECTIONS": value, "ssh_config": text, "written": changed,
                    "controller_state": row["state"]})
        return
    typer.echo(f"export OUMI_SLURM_CONNECTIONS={value}")
    typer.echo(f"# for {ssh_config}:" if not write else f"# in {ssh_config}:")
    typer.echo(text, nl=False)
    if write:
        typer.echo(f"# {'written' if changed else 'already there, unchanged'}", err=True)
    if not spec.has_os:
        typer.echo(f"warning: {controller} boots no image, so no sshd answers there: give it base_image "
                   "(ai-how image build hpc-base) for Oumi to reach it", err=True)
    if row["state"] != "running":
        typer.echo(f"warning: {controller} is {row['state']}: start it before 'oumi launch up --cluster {value}'",
                   err=True)


@handles_errors
def inventory_command(
        ctx: typer.Context,
        config: Annotated[Optional[Path], typer.Argument(help="The cluster.yaml (optional if only one hpc cluster "
                                                              "is recorded).")] = None,
        output: Annotated[Optional[Path], typer.Option("--output", help="Write DIR/hosts.yaml (or hosts.ini) "
                                                                        "instead of printing.")] = None,
        fmt: Annotated[str, typer.Option("--format", help="yaml or ini.")] = "yaml") -> None:
    """The Ansible inventory of the running HPC VMs (slurm_controller, slurm_compute, slurm_gpu), from the log."""
    from ai_how.app.deploy.inventory import hpc_inventory, render_ini, render_yaml

    if fmt not in ("yaml", "ini"):
        raise UsageError(f"--format {fmt!r}: choose yaml or ini")
    name, uri = cluster_name(ctx, config, "hpc")
    cli = state(ctx)
    cli.reconciled(uri, strict=False)
    keys = cli.bus().dependencies["keys"]
    private_key, _ = keys.platform_key()
    found = hpc_inventory(cli.topology(), name, private_key, keys.known_hosts)
    text = render_yaml(found) if fmt == "yaml" else render_ini(found)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.mkdir(parents=True, exist_ok=True)
    target = output / f"hosts.{fmt}"
    target.write_text(text)
    hosts = sum(len(h) for g, h in found["groups"].items() if g != "slurm_gpu")
    typer.echo(f"wrote {target}: {hosts} running host(s) of {name}")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
