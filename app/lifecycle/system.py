"""The whole platform: HPC first, then Cloud; stopped and destroyed the other way round."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_how.app.bus import MessageBus
    from ai_how.app.readside.views import LiveTopology

from dataclasses import dataclass

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import EventStore, Hypervisor
from ai_how.domain.commands import (
    DestroyCluster,
    DestroySystem,
    StartCluster,
    StartSystem,
    StopCluster,
    StopSystem,
    StopVms,
)
from ai_how.domain.errors import DomainError
from ai_how.domain.ids import cluster_id

from .capacity_guard import guard
from .clusters import ClusterDestroyResult, ClusterStartResult, VmBatchResult

START_ORDER = {"hpc": 0, "cloud": 1}


@dataclass
class SystemStartResult:
    clusters: dict[str, ClusterStartResult]


def start_system(command: StartSystem, store: EventStore, bus: MessageBus, hypervisor: Hypervisor,
                 live_topology: LiveTopology) -> SystemStartResult:
    done: dict[str, ClusterStartResult] = {}
    wanted = [vm for plan in command.plans for vm in plan.vms if vm.spec.auto_start]
    guard(hypervisor.host_capacity, live_topology.catch_up(), wanted, command.capacity, None,  # the platform fits, or nothing starts
          free_hugepages=hypervisor.free_hugepages)
    for plan in sorted(command.plans, key=lambda p: START_ORDER[p.kind]):
        try:
            done[plan.name] = bus.handle(StartCluster(plan, capacity=command.capacity))
        except (DomainError, InfrastructureError) as failure:
            ours = [vm for result in done.values() for vm in result.started]
            if ours:
                bus.handle(StopVms(tuple(ours), 10.0))
                for name, result in done.items():
                    if result.started and not result.already_running:
                        cluster = store.get(cluster_id(name))
                        cluster.mark_stopped()
                        store.save(cluster)
            undone = (f"stopped {', '.join(ours)} again, which this command had started" if ours
                      else "nothing this command started was left running")
            message = f"{plan.name} did not start, so the platform is not up. Rolled back: {undone}"
            if isinstance(failure, DomainError):
                failure.hint = "\n".join(h for h in (failure.hint, message) if h)
                raise
            raise InfrastructureError(f"{failure}. {message}") from failure
    return SystemStartResult(done)


def _by_kind(store: EventStore, names: tuple[str, ...], reverse: bool) -> list[str]:
    kinds = {name: str(c.kind) if (c := store.read(cluster_id(name))) is not None else "cloud" for name in names}
    return sorted(names, key=lambda n: START_ORDER.get(kinds[n], 1), reverse=reverse)


def stop_system(command: StopSystem, store: EventStore, bus: MessageBus) -> dict[str, VmBatchResult]:
    return {name: bus.handle(StopCluster(name, command.timeout, jobs=command.jobs))
            for name in _by_kind(store, command.names, True)}


def destroy_system(command: DestroySystem, store: EventStore, bus: MessageBus) -> dict[str, ClusterDestroyResult]:
    return {name: bus.handle(DestroyCluster(name, command.timeout, command.jobs))
            for name in _by_kind(store, command.names, True)}


COMMAND_HANDLERS: dict[type, Any] = {StartSystem: start_system, StopSystem: stop_system, DestroySystem: destroy_system}
