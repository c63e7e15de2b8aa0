"""``ai-how gpu ...``"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import confirm, console, handles_errors, print_json, state
from .options import JsonFlag

gpu_app = typer.Typer(help="GPUs known to the store and who holds them.", no_args_is_help=True)


@gpu_app.command("list")
@handles_errors
def list_gpus(ctx: typer.Context,
              json_output: JsonFlag = False) -> None:
    """GPUs recorded in the store, with the VM that holds each."""
    from ai_how.app.readside.queries import gpu_rows

    cli = state(ctx)
    cli.reconciled(strict=False)
    rows = gpu_rows(cli.topology())
    if json_output:
        print_json([r.as_dict() for r in rows])
        return
    out = console()
    if not rows:
        out.print("No GPU is recorded yet: GPUs are registered when a cluster that uses them is started.")
        return
    from rich.table import Table

    table = Table("PCI address", "model", "functions", "holder", "holder state", "move")
    for r in rows:
        table.add_row(r.pci_address, r.model, ", ".join(r.functions),
                      r.holder or "[green]free[/green]", r.holder_state or "-", move_cell(r.move))
    out.print(table)


def move_cell(move: dict | None) -> str:
    if move is None:
        return "-"
    done = ", ".join(move["steps"]) or "no step"
    if move["state"] == "failed":
        return f"[red]to {move['to']} failed[/red]: {move['reason']}"
    how = "[yellow]interrupted[/yellow] (run it again, or 'ai-how reconcile')" if move["interrupted"] else "moving"
    return f"{how} to {move['to']} (done: {done})"


@gpu_app.command("move")
@handles_errors
def move(ctx: typer.Context,
         pci_address: Annotated[str, typer.Argument(help="The card (its function 0), e.g. 0000:01:00.0.",
                                                    show_default=False)],
         to: Annotated[str, typer.Option("--to", help="The VM to hand it to (one that configures it).",
                                         show_default=False)],
         source: Annotated[Optional[str], typer.Option("--from", help="Refuse unless this VM holds it.",
                                                       show_default=False)] = None,
         drain_timeout: Annotated[float, typer.Option("--drain-timeout", min=0, help="Seconds the holder's SLURM "
                                                      "jobs may take to end.")] = 600,
         force: Annotated[bool, typer.Option("--force", help="Requeue the holder's SLURM jobs when the wait is "
                                             "over; stop a Kubernetes node without draining it.")] = False,
         yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm --force.")] = False,
         timeout: Annotated[float, typer.Option("--timeout", min=0, help="Seconds for the holder's ACPI "
                                                "shutdown before it is forced off.")] = 60,
         json_output: JsonFlag = False) -> None:
    """Hand a GPU over in one command: drain and stop its holder, start the target, wait until it takes work."""
    from ai_how.domain.commands import MoveGpu

    if force:
        confirm(f"--force: requeue the SLURM jobs still running on the holder of {pci_address} after "
                f"{drain_timeout:.0f} s, and stop a Kubernetes holder without draining it?", yes,
                f"move {pci_address} with --force")
    cli = state(ctx)
    result = cli.reconciled().handle(MoveGpu(pci_address, to, source, drain_timeout, force, timeout))
    if json_output:
        print_json(result.as_dict())
        return
    console().print(f"moved GPU {result.pci_address} from {result.holder or 'no VM'} to {result.target} in "
                    f"{result.seconds:.0f} s" + (" (an interrupted move, finished)" if result.resumed else ""))


@gpu_app.command("inventory")
@handles_errors
def inventory_command(ctx: typer.Context,
                      json_output: JsonFlag = False) -> None:
    """The NVIDIA GPUs this host has: model, driver, IOMMU group, companions, NUMA node, reset, console."""
    from ai_how.app.host.inventory import inventory

    gpus = inventory(state(ctx).pci_host())
    if json_output:
        print_json([g.as_dict() for g in gpus])
        return
    out = console()
    if not gpus:
        out.print("No NVIDIA GPU on this host.")
        return
    from rich.table import Table

    table = Table("PCI address", "model", "ids", "driver", "IOMMU group", "companions", "NUMA", "reset", "console")
    for g in gpus:
        f = g.gpu
        table.add_row(f.address, g.model, f"{f.vendor_id}:{f.device_id}", f.driver or "-",
                      str(f.iommu_group) if f.iommu_group is not None else "[red]none[/red]",
                      ", ".join(f"{c.address} ({c.driver or 'no driver'})" for c in g.companions) or "-",
                      str(f.numa_node) if f.numa_node is not None else "-",
                      ", ".join(f.reset_methods) or "[yellow]none[/yellow]", "yes" if f.boot_vga else "no")
    out.print(table)
