"""Tables for cluster and VM status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_how.app.readside.queries import ClusterView, VmRow
    from ai_how.domain.deployment import DeployRun

STATE_COLOURS = {"running": "green", "stopped": "yellow", "defined": "yellow", "starting": "cyan",
                 "stopping": "cyan", "destroyed": "red"}


def coloured(state: str) -> str:
    colour = STATE_COLOURS.get(state.split(" ")[0])
    return f"[{colour}]{state}[/{colour}]" if colour else state


SLURM_COLOURS = {"idle": "green", "alloc": "cyan", "mix": "cyan", "drain": "yellow", "drng": "yellow",
                 "down": "red", "unk": "yellow"}


def cluster_table(view: ClusterView, slurm: dict[str, str] | None = None, column: str = "slurm") -> Any:
    """``slurm``: each node's state as sinfo (or the Kubernetes API) reports it, for a column
    named ``column`` beside libvirt's."""
    from rich.table import Table

    net = view.network
    table = Table(title=f"{view.name} ({view.kind}) · {coloured(view.overall)} · network {net.get('subnet')} "
                        f"on {net.get('bridge')}", title_justify="left")
    columns = ["VM", "role", "IP", "vCPU", "RAM GB", "state", "libvirt", "guest", "GPUs held", "start"]
    for name in columns[:8] + ([column] if slurm is not None else []) + columns[8:]:
        table.add_column(name)
    for vm in view.vms:
        state = vm.state + (f" ({vm.pending_intent} pending)" if vm.pending_intent else "")
        cells = [vm.name, vm.role, vm.ip or "-", str(vm.cpu_cores), f"{vm.memory_gb:g}", coloured(state),
                 vm.domain_state, vm.guest]
        if slurm is not None:
            cells.append(_slurm_cell(slurm.get(vm.name), vm.role) if column == "slurm" else
                         _node_cell(slurm.get(vm.name)))
        cells += ["[magenta]" + ", ".join(vm.gpus_held) + "[/magenta]" if vm.gpus_held else "-",
                  "auto" if vm.auto_start else "[yellow]manual[/yellow] (auto_start: false)"]
        table.add_row(*cells)
    return table


def _node_cell(state: str | None) -> str:
    if state is None:
        return "- (not a node)"
    colour = "green" if state.startswith("Ready") and "cordoned" not in state else "yellow"
    return f"[{colour}]{state}[/{colour}]"


def _slurm_cell(state: str | None, role: str) -> str:
    if state is None:
        return "slurmctld" if role == "controller" else "-"
    colour = SLURM_COLOURS.get(state.split(" ")[0])
    return f"[{colour}]{state}[/{colour}]" if colour else state


def deployment_line(deployment: DeployRun | None) -> str:
    """The last deployment in one line."""
    if deployment is None:
        return "not deployed yet: run 'ai-how hpc deploy CONFIG'"
    when = deployment.ended_at or deployment.started_at or ""
    line = f"last deployment: {deployment.status} {when[:19].replace('T', ' ')} (run {deployment.run_id}"
    if deployment.seconds is not None:
        line += f", {deployment.seconds:.0f} s, {deployment.changed} changed"
    line += ")"
    if (failed := deployment.failure) is not None:
        line += f": {failed.host} at '{failed.task}': {failed.message}"
    return line


def vm_lines(vm: VmRow) -> list[str]:
    lines = [
        f"{vm.name}: {coloured(vm.state)}" + (f" ({vm.pending_intent} pending)" if vm.pending_intent else ""),
        f"  cluster {vm.cluster} · role {vm.role} · IP {vm.ip or '-'}",
        f"  {vm.cpu_cores} vCPU · {vm.memory_gb:g} GB RAM · {vm.disk_gb} GB disk · "
        f"{'starts with its cluster' if vm.auto_start else 'auto_start: false (started by hand)'}",
        f"  libvirt: {vm.domain_state} · guest: {vm.guest}" + (f" · image {vm.image}" if vm.image else ""),
        f"  GPUs configured: {', '.join(vm.gpus_configured) or 'none'} · held: {', '.join(vm.gpus_held) or 'none'}",
    ]
    if vm.pins:
        from ai_how.domain.cpus import Pins

        lines.append(f"  pinned: {Pins.from_dict(vm.pins).describe()}")
    if vm.last_error:
        lines.append(f"  last start failed: {vm.last_error}")
    return lines


def service_line(service: dict[str, Any]) -> str:
    """An inference service of a Cloud cluster's status, in one line."""
    spec = service["spec"]
    return (f"model {service['namespace']}/{service['name']}: {service['state']} · {spec.get('format')}"
            + (f" · {spec['gpus']} GPU" if spec.get("gpus") else "")
            + (f" · {service['url']}" if service["url"] else "")
            + "".join(f" · on {p['node']}" + (f" ({', '.join(p['gpus'])})" if p["gpus"] else "")
                      for p in service["placement"]))


def size_text(size: int) -> str:
    """Bytes as people read them: 512 KiB, 12 MiB, 1.5 GiB."""
    if size >= 2**30:
        return f"{size / 2**30:,.1f} GiB"
    if size >= 2**20:
        return f"{size / 2**20:,.0f} MiB"
    return f"{size / 2**10:,.0f} KiB"
