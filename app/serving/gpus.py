"""Which GPUs a Cloud cluster can serve on now: those held by its running GPU workers. A card
that is configured for one of its workers but held elsewhere (HPC training on it) is named
with its holder, the holder's state and the command that hands it over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_how.domain.errors import GpusNotAvailable
from ai_how.domain.gpu_models import model_name


@dataclass(frozen=True)
class MissingCard:
    pci_address: str
    model: str
    worker: str  # the Cloud worker configured with it
    holder: str | None
    holder_state: str | None

    def line(self) -> str:
        if self.holder is not None:
            return (f"{self.pci_address} ({self.model}) is held by {self.holder} ({self.holder_state}): hand it over "
                    f"with 'ai-how gpu move {self.pci_address} --to {self.worker}' (its jobs may end first)")
        return f"{self.pci_address} ({self.model}) is free, but {self.worker} is not running: 'ai-how vm start {self.worker}'"


def serving_gpus(topology: Any, cluster: str) -> tuple[list[str], list[MissingCard]]:
    """The cards the cluster's running GPU workers hold, and those its workers are configured
    with but do not hold."""
    held, missing = [], []
    for name in topology.clusters.get(cluster, {}).get("vms", []):
        vm = topology.vms.get(name)
        if vm is None or vm["role"] != "gpu-worker":
            continue
        for address in vm["spec"].get("gpus", []):
            card = topology.gpus.get(address, {})
            holder = card.get("holder")
            if holder == name and vm["state"] == "running":
                held.append(address)
            else:
                holder_row = topology.vms.get(holder) if holder else None
                missing.append(MissingCard(address, _model(card, address), name, holder,
                                           holder_row["state"] if holder_row else None))
    return sorted(held), missing


def _model(card: dict[str, Any], address: str) -> str:
    for function in card.get("functions") or []:
        if isinstance(function, dict) and function.get("pci_address") == address:
            return model_name(function.get("vendor_id", ""), function.get("device_id", ""))
    return "GPU"


def check_gpus(topology: Any, cluster: str, wanted: int) -> None:
    if wanted <= 0:
        return
    held, missing = serving_gpus(topology, cluster)
    if len(held) >= wanted:
        return
    have = f"{len(held)} GPU{'s' if len(held) != 1 else ''} ({', '.join(held)})" if held else "no GPU"
    lines = [f"--gpu {wanted}: the running GPU workers of {cluster} hold {have}"]
    lines += [f"  {card.line()}" for card in missing]
    if not missing:
        lines.append(f"  {cluster} has no more GPUs configured: lower --gpu")
    raise GpusNotAvailable("\n".join(lines))
