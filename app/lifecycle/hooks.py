"""What the lifecycle lets other capabilities do around its steps: hooks it calls, not
systems it drives (those are ports). The composition root gives it their implementations."""

from __future__ import annotations

from typing import Protocol


class BeforeStop(Protocol):
    """What must happen before VMs are shut down (a Kubernetes worker is drained)."""

    def __call__(self, vms: list[str], drain: bool) -> list[str]:
        """Prepare ``vms`` for their stop; notes for the operator. Raises to refuse the stop."""
