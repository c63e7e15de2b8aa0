"""``ai-how gpu ...``"""

from __future__ import annotations

from typing import Annotated

import typer

from .common import console, handles_errors, print_json, state

gpu_app = typer.Typer(help="GPUs known to the store and who holds them.", no_args_is_help=True)


@gpu_app.command("list")
@handles_errors
def list_gpus(ctx: typer.Context,
              json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
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

    table = Table("PCI address", "model", "functions", "holder", "holder state")
    for r in rows:
        table.add_row(r.pci_address, r.model, ", ".join(r.functions),
                      r.holder or "[green]free[/green]", r.holder_state or "-")
    out.print(table)


@gpu_app.command("inventory")
@handles_errors
def inventory_command(ctx: typer.Context,
                      json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
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
