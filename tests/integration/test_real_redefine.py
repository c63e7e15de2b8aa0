"""A changed config applied in place on a real libvirtd with QEMU: ``plan`` shows it,
``start --redefine`` defines the stopped VM again and grows its disk, which qemu-img then
reads at its new size; a disk is never shrunk. Needs root and libvirtd, as test_real_libvirt.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import states, virsh

pytestmark = [pytest.mark.slow, pytest.mark.real_libvirt]


def _changed(config: str, target: Path, **fields: float) -> str:
    doc = yaml.safe_load(Path(config).read_text())
    doc["clusters"]["hpc"]["compute_nodes"][0].update(fields)
    target.write_text(yaml.safe_dump(doc))
    return str(target)


def _disk(pool: str, volume: str) -> tuple[str, int]:
    path = virsh("vol-path", "--pool", pool, volume).strip()
    info = subprocess.run(["qemu-img", "info", "-U", "--output", "json", path], capture_output=True, text=True,
                          check=True)
    return path, json.loads(info.stdout)["virtual-size"]


def test_a_stopped_vm_is_redefined_and_its_disk_grown(cluster: dict, ai_how, tmp_path: Path) -> None:
    name, config, vms = cluster["name"], cluster["config"], cluster["vms"]
    node = vms[1]
    ai_how("hpc", "start", config)
    ai_how("vm", "stop", node, "--timeout", "2")
    changed = _changed(config, tmp_path / "changed.yaml", memory_gb=1, disk_gb=2)

    plan = ai_how("plan", changed, "--detailed-exitcode", expect=2).stdout
    assert f"~ redefine {node}: disk_gb 1 → 2, memory_gb 0.5 → 1" in plan
    assert "+  <memory unit='KiB'>1048576</memory>" in plan
    assert f"apply: ai-how hpc start {changed} --redefine" in plan

    started = ai_how("hpc", "start", changed, "--redefine").stdout
    assert f"redefined {node}: disk_gb 1 → 2, memory_gb 0.5 → 1; disk grown from 1 to 2 GiB; domain defined again" \
        in started
    assert states(vms) == {vm: "running" for vm in vms}
    assert re.search(r"Max memory:\s+1048576 KiB", virsh("dominfo", node))
    assert _disk(f"aihow-{name}", f"{node}.qcow2")[1] == 2 * 2**30
    assert ai_how("plan", changed, "--detailed-exitcode").stdout.strip().endswith(
        "Nothing to do: the config, the log and libvirt agree.")

    shrunk = _changed(config, tmp_path / "shrunk.yaml", memory_gb=1, disk_gb=1)
    ai_how("vm", "stop", node, "--timeout", "2")
    refused = ai_how("hpc", "start", shrunk, "--redefine", expect=1).stderr
    assert f"{node}: disk_gb 2 → 1: a disk is never shrunk; give disk_gb: 2 or more" in refused
    assert _disk(f"aihow-{name}", f"{node}.qcow2")[1] == 2 * 2**30
    assert states([node]) == {node: "shut off"}

    ai_how("hpc", "destroy", changed, "--yes", "--timeout", "2")
