"""The images built here, and a config's ``base_image: NAME`` resolved to one of them."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.domain.specs import ClusterPlan


def images(topology: Any) -> list[dict[str, Any]]:
    """Every recorded image, newest first, with whether its file is still there."""
    rows = [dict(row, present=os.path.isfile(row["path"])) for row in topology.images.values()]
    return sorted(rows, key=lambda r: r.get("since_position", 0), reverse=True)


def newest(topology: Any, name: str) -> dict[str, Any] | None:
    return next((row for row in images(topology) if row["name"] == name and row["present"]), None)


def resolve(plan: ClusterPlan, topology: Any) -> ClusterPlan:
    """The plan with each ``base_image`` name replaced by the newest built file of that name
    and its sha256; the config digest stays the config's."""
    vms = []
    for vm in plan.vms:
        name = vm.spec.base_image
        if name is None or vm.spec.base_image_path:
            vms.append(vm)
            continue
        found = newest(topology, name)
        if found is None:
            raise UsageError(f"{vm.name} boots image {name!r}, which is not built here; build it with "
                             f"'ai-how image build {name}' (or give base_image_path: FILE)")
        spec = dataclasses.replace(vm.spec, base_image_path=found["path"], base_image_sha256=found["sha256"])
        vms.append(dataclasses.replace(vm, spec=spec))
    return dataclasses.replace(plan, vms=tuple(vms))
