"""What the lifecycle lets other capabilities do around its steps: hooks it calls, not
systems it drives (those are ports). The composition root gives it their implementations."""

from __future__ import annotations

from typing import Protocol

from ai_how.domain.commands import JobPolicy


class BeforeStop(Protocol):
    """What must happen before VMs are shut down (a Kubernetes worker is drained; SLURM's
    jobs on an HPC node are asked about, waited for or requeued)."""

    def __call__(self, vms: list[str], drain: bool, jobs: JobPolicy) -> list[str]:
        """Prepare ``vms`` for their stop; notes for the operator. Raises to refuse the stop."""
