"""The options and arguments several commands share, written once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ConfigArg = Annotated[Path, typer.Argument(help="The cluster.yaml.", show_default=False)]
Confirmed = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
StopTimeout = Annotated[float, typer.Option("--timeout", min=0,
                                            help="Seconds to wait for an ACPI shutdown before forcing a VM off.")]
StartWait = Annotated[float, typer.Option("--wait", min=1, help="Seconds each VM may take to run and, when it "
                                                                "boots an image, its guest to answer SSH.")]
Kubespray = Annotated[Optional[Path], typer.Option(
    "--kubespray", help="The Kubespray checkout (default: AI_HOW_KUBESPRAY_DIR, then global.kubespray.path).")]
ForceCapacity = Annotated[bool, typer.Option(
    "--force", help="Start even beyond the host's capacity: warns, asks, and records the decision.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="With --force: do not ask (needed without a terminal).")]
DrainJobs = Annotated[bool, typer.Option(
    "--drain", help="SLURM jobs on the nodes it stops: drain them and wait for the jobs to end, then stop.")]
DrainTimeout = Annotated[float, typer.Option(
    "--drain-timeout", min=0, help="With --drain: seconds the jobs may take; then the nodes are resumed and "
    "the stop refused.")]
ForceStop = Annotated[bool, typer.Option(
    "--force", help="Stop even with work on it: requeue the SLURM jobs on its HPC nodes (what cannot be "
    "requeued ends), stop Kubernetes nodes without draining their pods.")]
PurgeData = Annotated[bool, typer.Option(
    "--purge-data", help="Also delete the HPC cluster's shared storage and every file on it (asks first; --yes "
    "answers).")]
