"""``hardware.acceleration`` of a cluster, as the predecessor tool writes it: KVM or TCG, the CPU
model and its features, nested virtualisation, the CPU topology (a shape every VM of the
cluster takes), NUMA cells and the ``performance`` knobs (hugepages, pinning, memory backing).

What ai-how does not act on yet is accepted and warned about (``config/tuning_checks.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# QEMU's spelling of a CPU feature, with + (required) or - (disabled): +avx2, -svm, +sse4.1.
CPU_FEATURE_PATTERN = r"^[+-][a-z0-9][a-z0-9_.-]{0,31}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CpuTopology(_Strict):
    """At cluster level a shape: ``sockets`` and ``threads`` are kept and each VM's cores are its
    vCPUs ÷ (sockets × threads). A VM's own ``cpu_topology`` is taken as written."""

    sockets: Annotated[int, Field(ge=1, le=64)] = 1
    cores: Annotated[int, Field(ge=1, le=256)] = 1
    threads: Annotated[int, Field(ge=1, le=8)] = 1


class NumaCell(_Strict):
    """One guest NUMA node: its vCPUs (e.g. "0-3") and memory."""

    cpus: Annotated[str, Field(pattern=r"^\d+(-\d+)?(,\d+(-\d+)?)*$")]
    memory_gb: Annotated[float, Field(gt=0, le=4096)]


class Performance(_Strict):
    enable_hugepages: bool = False
    hugepage_size: Literal["2M", "1G"] = "2M"
    cpu_pinning: bool = False
    memory_backing: Literal["default", "hugepages", "memfd"] = "default"


class Acceleration(_Strict):
    enable_kvm: bool = True  # false: TCG, QEMU's emulator (slow, runs anywhere)
    enable_nested: bool = False
    cpu_model: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] | None = None  # host-passthrough, host-model, or a named model
    cpu_features: list[Annotated[str, Field(pattern=CPU_FEATURE_PATTERN)]] = []
    numa_topology: list[NumaCell] | None = None  # null: automatic
    cpu_topology: CpuTopology | None = None
    performance: Performance = Performance()


class Hardware(BaseModel):
    """``acceleration`` is read; other keys are kept as data."""

    model_config = ConfigDict(extra="allow")
    acceleration: Acceleration | None = None
