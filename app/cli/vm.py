"""``ai-how vm ...``: one VM at a time."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ai_how.domain.errors import UnknownObject

from .common import EXIT_INFRA, console, fail, handles_errors, interactive, job_policy, over_capacity, print_json, state
from .options import DrainJobs, DrainTimeout, ForceCapacity, ForceStop, JsonFlag, StartWait, Yes
from .render import vm_lines

vm_app = typer.Typer(help="A single VM: start, stop, restart, status, ssh, console.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="The VM's name, e.g. cloud-cluster-gpu-worker-01.", show_default=False)]
StopTimeout = Annotated[float, typer.Option("--timeout", min=0,
                                            help="Seconds to wait for an ACPI shutdown before forcing it off.")]


@vm_app.command("start")
@handles_errors
def start(ctx: typer.Context, name: Name,
          wait: StartWait = 600,
          force: ForceCapacity = False, yes: Yes = False) -> None:
    """Lease the VM's GPUs and start it; refused, naming the holder, if a GPU is taken, and
    when it would exceed the host's capacity (the limits its cluster was started with)."""
    from ai_how.domain.commands import CapacityPolicy, StartVms

    bus = state(ctx).reconciled(start_wait_s=wait)
    result = over_capacity(lambda forced: bus.handle(StartVms((name,), CapacityPolicy(force=forced))), force, yes)
    console().print(f"{name} is already running" if result.skipped else f"started {name}")


@vm_app.command("stop")
@handles_errors
def stop(ctx: typer.Context, name: Name, timeout: StopTimeout = 60, drain: DrainJobs = False,
         drain_timeout: DrainTimeout = 600, force: ForceStop = False) -> None:
    """Shut the VM down and release its GPUs (a Kubernetes node is cordoned and drained first)."""
    from ai_how.domain.commands import StopVms

    jobs = job_policy(drain, force, drain_timeout)
    result = state(ctx).reconciled().handle(StopVms((name,), timeout, drain=not force, jobs=jobs))
    for note in result.notes:
        console().print(note)
    console().print(f"{name} is not running" if result.skipped else f"stopped {name}")


@vm_app.command("restart")
@handles_errors
def restart(ctx: typer.Context, name: Name, timeout: StopTimeout = 60, drain: DrainJobs = False,
            drain_timeout: DrainTimeout = 600, force: ForceStop = False) -> None:
    """Shut the VM down and start it again; it keeps its GPUs throughout."""
    from ai_how.domain.commands import RestartVm

    for note in state(ctx).reconciled().handle(RestartVm(name, timeout, job_policy(drain, force, drain_timeout))):
        console().print(note)
    console().print(f"restarted {name}")


@vm_app.command("status")
@handles_errors
def status(ctx: typer.Context, name: Name,
           json_output: JsonFlag = False) -> None:
    """The VM's spec, recorded and libvirt state, IP and GPUs."""
    from ai_how.app.readside.queries import vm_row

    cli = state(ctx)
    cli.reconciled(strict=False)
    row = vm_row(cli.topology(), cli.hypervisor(), name)
    if row is None:
        raise UnknownObject(f"VM {name} is not known; start its cluster first ('ai-how hpc|cloud start CONFIG')")
    if json_output:
        print_json(row.as_dict())
        return
    out = console()
    for line in vm_lines(row):
        out.print(line)


@vm_app.command("ssh", context_settings={"allow_interspersed_args": False})
@handles_errors
def ssh(ctx: typer.Context, name: Name,
        command: Annotated[Optional[list[str]], typer.Argument(
            help="A command to run instead of a shell (after --); its exit code is this command's.")] = None) -> None:
    """A shell, or a command, on the VM's guest: the platform key, the pinned host key."""
    open_ssh(ctx, name, list(command or []))


def open_ssh(ctx: typer.Context, name: str, command: list[str], shared_home: bool = False) -> None:
    """ssh to the VM's guest; exits with the remote command's code. ``shared_home``: start in
    the user's folder on the cluster's shared storage, where a job's output lands for all."""
    import subprocess

    from ai_how.app.readside.queries import guest_of, shared_home_of

    cli = state(ctx)
    cli.reconciled(strict=False)
    login, address = guest_of(cli.topology(), name)
    if command[:1] == ["--"]:  # typer keeps the separator of 'vm ssh NAME -- CMD'
        command = command[1:]
    shell = not command
    folder = shared_home_of(cli.topology(), name) if shared_home else None
    if folder:
        command = ["sh", "-c", 'cd "$1" 2>/dev/null; shift; [ $# -gt 0 ] && exec "$@"; exec "${SHELL:-bash}" -l',
                   "sh", folder, *command]
    argv = cli.guests().argv(login, address, command, tty=shell and interactive())
    out = subprocess.run(argv, stderr=None if shell else subprocess.PIPE, text=True)
    if not shell and out.stderr:
        sys.stderr.write(out.stderr)
    if out.returncode == 255:
        changed = "Host key verification failed" in (out.stderr or "")
        raise fail(f"ssh to {name} ({address}) failed: " + (
            "its host key is not the one ai-how pinned for it; if the VM was rebuilt outside ai-how, destroy and "
            "start its cluster again" if changed else "see ssh's message above"), EXIT_INFRA)
    raise typer.Exit(out.returncode)


@vm_app.command("console")
@handles_errors
def console_(ctx: typer.Context, name: Name) -> None:
    """The VM's serial console (virsh console; leave it with Ctrl+]). Works before SSH does."""
    import os
    import shutil

    cli = state(ctx)
    if shutil.which("virsh") is None:
        raise fail("virsh is not installed; install it with: apt-get install libvirt-clients", EXIT_INFRA)
    uri = cli.hypervisor().uri
    os.execvp("virsh", ["virsh", "-c", uri, "console", name])
