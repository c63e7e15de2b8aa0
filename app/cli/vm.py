"""``ai-how vm ...``: one VM at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from ai_how.domain.errors import UnknownObject

from .common import console, handles_errors, print_json, state
from .render import vm_lines

vm_app = typer.Typer(help="A single VM: start, stop, restart, status.", no_args_is_help=True)

Name = Annotated[str, typer.Argument(help="The VM's name, e.g. cloud-cluster-gpu-worker-01.", show_default=False)]
StopTimeout = Annotated[float, typer.Option("--timeout", min=0,
                                            help="Seconds to wait for an ACPI shutdown before forcing it off.")]


@vm_app.command("start")
@handles_errors
def start(ctx: typer.Context, name: Name,
          wait: Annotated[float, typer.Option("--wait", min=1, help="Seconds the VM may take to run.")] = 120) -> None:
    """Lease the VM's GPUs and start it; refused, naming the holder, if a GPU is taken."""
    from ai_how.domain.commands import StartVms

    result = state(ctx).reconciled(start_wait_s=wait).handle(StartVms((name,)))
    console().print(f"{name} is already running" if result.skipped else f"started {name}")


@vm_app.command("stop")
@handles_errors
def stop(ctx: typer.Context, name: Name, timeout: StopTimeout = 60) -> None:
    """Shut the VM down and release its GPUs."""
    from ai_how.domain.commands import StopVms

    result = state(ctx).reconciled().handle(StopVms((name,), timeout))
    console().print(f"{name} is not running" if result.skipped else f"stopped {name}")


@vm_app.command("restart")
@handles_errors
def restart(ctx: typer.Context, name: Name, timeout: StopTimeout = 60) -> None:
    """Shut the VM down and start it again; it keeps its GPUs throughout."""
    from ai_how.domain.commands import RestartVm

    state(ctx).reconciled().handle(RestartVm(name, timeout))
    console().print(f"restarted {name}")


@vm_app.command("status")
@handles_errors
def status(ctx: typer.Context, name: Name,
           json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
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
