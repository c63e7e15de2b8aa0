"""``ai-how plan CONFIG``: what a start would do, before it does anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .common import EXIT_REFUSED, console, handles_errors, print_json, state
from .options import ConfigArg, JsonFlag

EXIT_CHANGES = 2  # as terraform plan -detailed-exitcode
WORDS = (("create", "to create"), ("define", "to define"), ("redefine", "to redefine"), ("start", "to start"),
         ("lease", "to lease"), ("deploy", "to deploy"))


def _summary(views: list) -> str:
    counts = {kind: sum(v.count(kind) for v in views) for kind, _ in WORDS}
    parts = [f"{counts[kind]} {words}" for kind, words in WORDS if counts[kind]]
    drift = sum(len(v.drift) for v in views)
    refused = sum(v.count("refuse") for v in views)
    if drift:
        parts.append(f"{drift} drift")
    if not parts and not refused:
        return "Nothing to do: the config, the log and libvirt agree."
    return "Plan: " + (", ".join(parts) or "no change") + (f"; {refused} refused" if refused else "") + "."


def _apply_hint(view, config: Path) -> str | None:
    if view.refused:
        return f"{view.cluster}: a start would be refused; fix what is marked '!' first"
    if view.needs_redefine:
        return f"apply: ai-how {view.kind} start {config} --redefine"
    if any(a.kind in ("create", "define", "start", "lease") for a in view.actions):
        return f"apply: ai-how {view.kind} start {config}"
    if view.count("deploy"):
        return f"apply: ai-how {view.kind} deploy {config}"
    return None


@handles_errors
def plan(
    ctx: typer.Context,
    config: ConfigArg,
    deploy: Annotated[bool, typer.Option("--deploy", help="Also what 'start --deploy' would deploy.")] = False,
    json_output: JsonFlag = False,
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", help="Exit 0 when there is nothing to do, 2 when there are changes, 1 when a "
        "rule would refuse the start.")] = False,
) -> None:
    """What 'start' would do to each cluster of CONFIG (create, define, redefine with the domain
    XML diff, start, lease, deploy, skip, refuse), and where the config, the log and libvirt
    disagree. Changes nothing; exit 1 when a rule would refuse the start."""
    from ai_how.app.lifecycle.start_plan import plan_cluster
    from ai_how.domain.commands import CapacityPolicy

    from .config_input import valid_config

    report, parsed = valid_config(config)
    cli = state(ctx)
    bus = cli.bus(parsed.global_.libvirt_uri)
    topology = cli.topology()
    limits = CapacityPolicy(parsed.global_.host_reserve_gb, parsed.global_.max_vcpu_ratio)
    views = [plan_cluster(c.plan, bus.store, cli.hypervisor(), topology, limits, deploy) for c in report.clusters]
    refused = any(v.refused for v in views)
    changes = any(v.changes for v in views)
    if json_output:
        print_json({"refused": refused, "changes": changes, "clusters": [v.as_dict() for v in views]})
    else:
        _show(views, config)
    if refused:
        raise typer.Exit(EXIT_REFUSED)
    if changes and detailed_exitcode:
        raise typer.Exit(EXIT_CHANGES)


def _show(views: list[Any], config: Path) -> None:
    from ai_how.app.lifecycle.start_plan import MARKS

    out = console()
    for view in views:
        out.print(f"{view.cluster} ({view.kind}):", markup=False)
        for action in view.actions:
            out.print(f"  {MARKS[action.kind]} {action.kind} {action.subject}: {action.detail}", markup=False,
                      soft_wrap=True)
            for line in (action.diff or "").splitlines():
                out.print(f"      {line}", markup=False, soft_wrap=True)
        for drift in view.drift:
            out.print(f"  ? drift: {drift}", markup=False, soft_wrap=True)
        hint = _apply_hint(view, config)
        if hint and (view.changes or view.refused):
            out.print(f"  {hint}", markup=False, soft_wrap=True)
    out.print(_summary(views), markup=False)
