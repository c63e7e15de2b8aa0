"""The host's CPUs as pinning and CPU features need them: which CPUs each NUMA node has
(libvirt's capabilities) and which features the CPU has (/proc/cpuinfo, as the kernel sees it)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

from ai_how.adapters.sysfs import cpu_flags_of


def layout(capabilities: str) -> dict[int, list[int]]:
    """NUMA node -> its CPUs, from ``<host><topology><cells>``; one node of every CPU where the
    capabilities give no topology (libvirt's test driver, some containers)."""
    root = ET.fromstring(capabilities)
    cells = root.findall("./host/topology/cells/cell")
    found = {int(cell.get("id", "0")): sorted(int(cpu.get("id", "0")) for cpu in cell.findall("./cpus/cpu"))
             for cell in cells}
    return {node: cpus for node, cpus in found.items() if cpus}


@cache
def cpu_flags() -> frozenset[str]:
    """This host's CPU flags (read once: they do not change while it runs)."""
    try:
        return cpu_flags_of(Path("/proc/cpuinfo").read_text())
    except OSError:
        return frozenset()
