"""Tables for cluster and VM status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_how.app.readside.queries import ClusterView, VmRow

STATE_COLOURS = {"running": "green", "stopped": "yellow", "defined": "yellow", "starting": "cyan",
                 "stopping": "cyan", "destroyed": "red"}


def coloured(state: str) -> str:
    colour = STATE_COLOURS.get(state.split(" ")[0])
    return f"[{colour}]{state}[/{colour}]" if colour else state


def cluster_table(view: ClusterView) -> Any:
    from rich.table import Table

    net = view.network
    table = Table(title=f"{view.name} ({view.kind}) · {coloured(view.overall)} · network {net.get('subnet')} "
                        f"on {net.get('bridge')}", title_justify="left")
    for column in ("VM", "role", "IP", "vCPU", "RAM GB", "state", "libvirt", "guest", "GPUs held", "start"):
        table.add_column(column)
    for vm in view.vms:
        state = vm.state + (f" ({vm.pending_intent} pending)" if vm.pending_intent else "")
        table.add_row(vm.name, vm.role, vm.ip or "-", str(vm.cpu_cores), f"{vm.memory_gb:g}", coloured(state),
                      vm.domain_state, vm.guest, "[magenta]" + ", ".join(vm.gpus_held) + "[/magenta]" if vm.gpus_held else "-",
                      "auto" if vm.auto_start else "[yellow]manual[/yellow] (auto_start: false)")
    return table


def vm_lines(vm: VmRow) -> list[str]:
    lines = [
        f"{vm.name}: {coloured(vm.state)}" + (f" ({vm.pending_intent} pending)" if vm.pending_intent else ""),
        f"  cluster {vm.cluster} · role {vm.role} · IP {vm.ip or '-'}",
        f"  {vm.cpu_cores} vCPU · {vm.memory_gb:g} GB RAM · {vm.disk_gb} GB disk · "
        f"{'starts with its cluster' if vm.auto_start else 'auto_start: false (started by hand)'}",
        f"  libvirt: {vm.domain_state} · guest: {vm.guest}" + (f" · image {vm.image}" if vm.image else ""),
        f"  GPUs configured: {', '.join(vm.gpus_configured) or 'none'} · held: {', '.join(vm.gpus_held) or 'none'}",
    ]
    if vm.last_error:
        lines.append(f"  last start failed: {vm.last_error}")
    return lines
