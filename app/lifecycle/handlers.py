"""What the lifecycle handles, for the composition root to wire: commands to their handler,
and recorded events to the sagas that react to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ai_how.domain.gpu import Gpu
from ai_how.domain.vm import Vm

from . import clusters, leases, reconcile, redefine, sagas, system

COMMAND_HANDLERS: dict[type, Any] = {**leases.COMMAND_HANDLERS, **clusters.COMMAND_HANDLERS, **reconcile.COMMAND_HANDLERS,
                    **redefine.COMMAND_HANDLERS, **system.COMMAND_HANDLERS}
# event type -> (handler, failure recorder, runs concurrently with its like events)
EVENT_HANDLERS: dict[type, list[tuple[Callable[..., Any], Callable[..., Any] | None, bool]]] = {
    Gpu.GpuLeased: [(sagas.bind_gpu, sagas.record_bind_failure, False)],
    Gpu.GpuReleased: [(sagas.return_gpu_to_host, None, False)],
    Vm.VmStartRequested: [(sagas.start_domain, sagas.record_start_failure, True)],
    Vm.VmStopRequested: [(sagas.stop_domain, None, True)],
}
