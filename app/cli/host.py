"""``ai-how host check``: where the config meets the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import EXIT_REFUSED, console, handles_errors, print_json, state
from .options import JsonFlag

host_app = typer.Typer(help="This machine: is it ready for GPU passthrough?", no_args_is_help=True)


def _capacity(cli, clusters, settings) -> list:
    """The capacity sums and the shared storage's free space, or why libvirt could not say."""
    from ai_how.app.errors import InfrastructureError
    from ai_how.app.host.capacity import capacity, capacity_checks, hugepage_checks, hugepages_needed, to_start_of
    from ai_how.app.host.checks import Check
    from ai_how.app.host.shared_storage import space_checks
    from ai_how.app.host.tuning import pinning_checks

    try:
        cli.reconciled(settings.libvirt_uri, strict=False)
        cpus, memory_mib = cli.hypervisor().host_capacity()
    except InfrastructureError as exc:
        return [Check("warn", "capacity", f"libvirt gives no node info, so the VMs' sums are not checked: {exc}",
                      "start libvirtd (scripts/libvirt-up.sh) or give --libvirt-uri")]
    shared = {c.name: cli.hypervisor().shared_storage(c.name, d.host_path) for c in clusters for vm in c.vms
              for d in vm.plan.spec.shared_directories if d.cluster_storage and d.from_host}
    to_start, topology = to_start_of(clusters), cli.topology()
    needed = hugepages_needed(to_start, topology)
    pages = hugepage_checks(needed, cli.hypervisor().free_hugepages()) if needed else []
    pins = pinning_checks(clusters, cli.hypervisor().host_cpu_layout(), topology)
    return capacity_checks(capacity(topology, to_start, cpus, memory_mib, settings.host_reserve_gb,
                                    settings.max_vcpu_ratio)) + pages + pins + space_checks(shared)


MARKS = {"pass": "[green]pass[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


@host_app.command("check")
@handles_errors
def check(ctx: typer.Context,
          config: Annotated[Optional[Path], typer.Argument(
              help="A cluster.yaml: also check every device it passes through.", show_default=False)] = None,
          json_output: JsonFlag = False) -> None:
    """A pass/warn/fail checklist, each failure with its fix; exit 1 if anything fails."""
    from ai_how.app.host.checks import host_checks

    clusters = None
    if config is not None:
        from .config_input import valid_config

        report, parsed = valid_config(config)
        clusters = report.clusters
    from ai_how.app.bootstrap import find_virtiofsd

    cli = state(ctx)
    checks = host_checks(cli.pci_host(), clusters, find_virtiofsd())
    if clusters is not None:
        from ai_how.app.host.tuning import feature_checks

        checks += feature_checks(cli.pci_host(), clusters) + _capacity(cli, clusters, parsed.global_)
    failed = [c for c in checks if c.status == "fail"]
    if json_output:
        print_json({"ready": not failed, "checks": [c.as_dict() for c in checks]})
    else:
        out = console()
        for c in checks:
            out.print(f"{MARKS[c.status]}  {c.subject}: {c.message}", soft_wrap=True)
            if c.fix and c.status != "pass":
                out.print(f"      fix: {c.fix}", soft_wrap=True)
        warned = len([c for c in checks if c.status == "warn"])
        out.print(f"{'not ready' if failed else 'ready'}: {len(failed)} failed, {warned} warning(s)")
    if failed:
        raise typer.Exit(EXIT_REFUSED)
