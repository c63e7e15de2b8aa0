"""Event handlers that drive the hypervisor: the start and stop sagas of DESIGN.md.

They read the store but never write it; each returns the command that records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from ai_how.domain.commands import Command, MarkVmStarted, MarkVmStartFailed, MarkVmStopped
from ai_how.domain.ids import cluster_id
from ai_how.domain.specs import VmPlan
from ai_how.domain.vm import Vm

from .faults import crash_point
from .ports import EventStore, Hypervisor


@dataclass(frozen=True)
class Timing:
    start_wait_s: float = 120.0  # how long a started domain may take to reach 'running'


def _vm(store: EventStore, event) -> Vm:
    return store.get(event.originator_id)


def start_domain(event: Vm.VmStartRequested, store: EventStore, hypervisor: Hypervisor, timing: Timing) -> Command:
    vm = _vm(store, event)
    cluster = store.get(cluster_id(vm.cluster))
    hypervisor.start_vm(cluster.network, VmPlan(vm.name, vm.cluster, vm.role, vm.spec), timing.start_wait_s)
    crash_point("after-domain-start")
    return MarkVmStarted(vm.name)


def record_start_failure(event: Vm.VmStartRequested, error: Exception, store: EventStore) -> Command:
    return MarkVmStartFailed(_vm(store, event).name, str(error))


def stop_domain(event: Vm.VmStopRequested, store: EventStore, hypervisor: Hypervisor) -> Command:
    vm = _vm(store, event)
    hypervisor.shutdown_vm(vm.name, event.timeout)
    return MarkVmStopped(vm.name, "requested", restart=event.restart)
