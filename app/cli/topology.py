"""``ai-how topology`` and its rendering, shared with ``audit at``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .common import console, handles_errors, print_json, state
from .options import JsonFlag

STATUS_COLOURS = {"running": "green", "stopped": "yellow", "provisioned": "yellow", "defined": "yellow",
                  "starting": "cyan", "stopping": "cyan", "not provisioned": "dim"}


def _status(text: str) -> str:
    colour = STATUS_COLOURS.get(text, "white")
    return f"[{colour}]{text}[/{colour}]"


def render_tree(tree: dict[str, Any], title: str) -> Any:
    from rich.tree import Tree

    root = Tree(f"[bold]{title}[/bold]")
    if not tree["clusters"]:
        root.add("no cluster is recorded; start one with 'ai-how hpc|cloud start CONFIG'")
    for cluster in tree["clusters"]:
        node = root.add(f"[bold]{cluster['name']}[/bold] ({cluster['kind']}) · {_status(cluster['status'])}")
        net = cluster["network"]
        node.add(f"[cyan]network {net['subnet']} · bridge {net['bridge']} · gateway {net.get('gateway', '-')}[/cyan]")
        for vm in cluster["vms"]:
            manual = "" if vm["auto_start"] else " · auto_start: false"
            guest = f" · guest {vm['guest']}" if vm.get("guest") else ""
            leaf = node.add(f"{vm['name']} · {vm['ip'] or '-'} · {_status(vm['state'])}{guest} · {vm['cpu_cores']} vCPU · "
                            f"{vm['memory_gb']:g} GB · {vm['role']}{manual}")
            if vm.get("pins"):
                from ai_how.domain.cpus import Pins

                leaf.add(f"[cyan]pinned: {Pins.from_dict(vm['pins']).describe()}[/cyan]")
            for gpu in vm["gpus"]:
                line = (f"[magenta]GPU {gpu['pci_address']} {gpu['model']}[/magenta] "
                        f"({', '.join(gpu['functions'])}) · {gpu['allocation']}")
                if gpu["conflicts"]:
                    others = ", ".join(f"{c['vm']} ({c['cluster']})" for c in gpu["conflicts"])
                    line += f" · [red]conflict: cannot run with {others}[/red]"
                leaf.add(line)
        for service in cluster.get("services", []):
            gpus = f" · {service['gpus']} GPU" if service["gpus"] else ""
            node.add(f"[green]model {service['namespace']}/{service['name']}[/green] · {service['format']}{gpus} · "
                     f"{_status(service['state'])}" + (f" · {service['url']}" if service["url"] else "")
                     + "".join(f" · on {p['node']}" + (f" ({', '.join(p['gpus'])})" if p["gpus"] else "")
                               for p in service["placement"]))
    return root


@handles_errors
def topology(ctx: typer.Context,
             config: Annotated[Optional[Path], typer.Option(
                 "--config", help="Also show what this config defines but is not provisioned.")] = None,
             json_output: JsonFlag = False) -> None:
    """Clusters, networks, VMs and GPUs as recorded, with GPU conflicts between clusters."""
    from ai_how.app.readside.topology import topology_tree

    cli = state(ctx)
    configured: list[Any] = []
    uri = None
    if config is not None:
        from .config_input import planned_clusters

        configured, uri = planned_clusters(config)
    cli.reconciled(uri, strict=False)
    tree = topology_tree(cli.topology(), configured)
    if json_output:
        print_json(tree)
    else:
        console().print(render_tree(tree, "ai-how topology"))

