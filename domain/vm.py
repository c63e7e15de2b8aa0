"""The Vm aggregate: one libvirt domain's recorded lifecycle, with explicit pending intents."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import InvalidTransition
from .ids import vm_id
from .specs import VmSpec

OURS = "ai-how:"  # the start of the reason of every SLURM drain ai-how sets: it resumes only those


class VmState(StrEnum):
    DEFINED = "defined"
    STARTING = "starting"  # VmStartRequested recorded, outcome not yet known
    RUNNING = "running"
    STOPPING = "stopping"  # VmStopRequested recorded, outcome not yet known
    STOPPED = "stopped"
    DESTROYED = "destroyed"


class StopReason(StrEnum):
    REQUESTED = "requested"
    OBSERVED = "observed"  # found stopped outside the tool
    CRASHED = "crashed"


class Vm(Aggregate):
    # The events that other parts react to, declared so that a type checker knows them; the
    # others are made by ``@event`` from their methods. Same names, same stored topics.
    class VmStartRequested(Aggregate.Event):
        pass

    class GuestReady(Aggregate.Event):
        address: str
        profile: str
        seconds: float

    class VmStopRequested(Aggregate.Event):
        timeout: float
        restart: bool

    # Class defaults, for aggregates restored from snapshots taken before these existed.
    guest_ready = False
    start_profile: str | None = None
    slurm_drain: str | None = None  # the reason of the SLURM drain ai-how set on this node, until resumed

    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        return vm_id(name)

    @classmethod
    def define(cls, name: str, cluster: str, role: str, spec: VmSpec) -> Vm:
        return cls(name=name, cluster=cluster, role=role, spec=spec.to_dict())

    @event("VmDefined")
    def __init__(self, name: str, cluster: str, role: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.cluster = cluster
        self.role = role
        self.spec_data = spec
        self.state = VmState.DEFINED
        self.last_error: str | None = None
        self._state_before_start = VmState.DEFINED
        self.guest_ready = False
        self.start_profile: str | None = None

    @property
    def spec(self) -> VmSpec:
        return VmSpec.from_dict(self.spec_data)

    @property
    def gpus(self) -> tuple[str, ...]:
        return tuple(self.spec_data.get("gpus", ()))  # as VmSpec.from_dict reads it, without the rest

    @property
    def pending_intent(self) -> str | None:
        return {VmState.STARTING: "start", VmState.STOPPING: "stop"}.get(self.state)

    def _refuse(self, action: str, hint: str) -> InvalidTransition:
        return InvalidTransition(f"cannot {action} VM {self.name}: it is {str(self.state)}; {hint}")

    def request_start(self) -> None:
        if self.state not in (VmState.DEFINED, VmState.STOPPED):
            hints = {
                VmState.RUNNING: "it needs no start",
                VmState.STARTING: "a start is pending; run 'ai-how reconcile' if it never finished",
                VmState.STOPPING: "a stop is pending; run 'ai-how reconcile' if it never finished",
                VmState.DESTROYED: "start its cluster again to redefine it",
            }
            raise self._refuse("start", hints[self.state])
        self._start_requested()

    @event(VmStartRequested)
    def _start_requested(self) -> None:
        self._state_before_start = self.state
        self.state = VmState.STARTING

    def mark_started(self, observed: bool = False) -> None:
        if self.state == VmState.RUNNING:
            return
        if not observed and self.state != VmState.STARTING:
            raise self._refuse("mark as started", "no start was requested")
        if self.state == VmState.DESTROYED:
            raise self._refuse("mark as started", "it was destroyed")
        self._started(observed=observed)

    @event("VmStarted")
    def _started(self, observed: bool) -> None:
        self.state = VmState.RUNNING
        self.last_error = None
        self.guest_ready = False

    def mark_guest_ready(self, address: str, profile: str, seconds: float) -> None:
        """The guest answered SSH with its pinned host key: its OS is up."""
        if self.state != VmState.RUNNING:
            raise self._refuse("mark its guest ready", "only a running VM has a guest")
        self._guest_ready(address=address, profile=profile, seconds=round(seconds, 1))

    @event(GuestReady)
    def _guest_ready(self, address: str, profile: str, seconds: float) -> None:
        self.guest_ready = True
        self.start_profile = profile

    def mark_start_failed(self, error: str) -> None:
        if self.state != VmState.STARTING:
            raise self._refuse("record a failed start", "no start is pending")
        self._start_failed(error=error)

    @event("VmStartFailed")
    def _start_failed(self, error: str) -> None:
        self.state = self._state_before_start
        self.last_error = error

    def redefine(self, cluster: str, role: str, spec: VmSpec) -> None:
        """A destroyed VM of the same name is defined again by a new provisioning."""
        if self.state != VmState.DESTROYED:
            raise self._refuse("redefine", "only a destroyed VM can be defined again")
        self._redefined(cluster=cluster, role=role, spec=spec.to_dict())

    def respecify(self, spec: VmSpec) -> None:
        """A shut-off VM takes a changed spec from its config (``start --redefine``)."""
        if self.state not in (VmState.DEFINED, VmState.STOPPED):
            raise self._refuse("redefine", "stop it first; a running VM keeps its spec")
        self._redefined(cluster=self.cluster, role=self.role, spec=spec.to_dict())

    @event("VmRedefined")
    def _redefined(self, cluster: str, role: str, spec: dict[str, Any]) -> None:
        self.cluster = cluster
        self.role = role
        self.spec_data = spec
        self.state = VmState.DEFINED
        self.last_error = None

    def request_stop(self, timeout: float, restart: bool = False) -> None:
        """``restart`` keeps the VM's GPU leases and starts it again once it is off."""
        if self.state != VmState.RUNNING:
            raise self._refuse("stop", "only a running VM can be stopped")
        self._stop_requested(timeout=timeout, restart=restart)

    @event(VmStopRequested)
    def _stop_requested(self, timeout: float, restart: bool) -> None:
        self.state = VmState.STOPPING

    def mark_stopped(self, reason: StopReason = StopReason.REQUESTED) -> None:
        allowed = (VmState.STOPPING,) if reason == StopReason.REQUESTED else (
            VmState.RUNNING, VmState.STARTING, VmState.STOPPING)
        if self.state not in allowed:
            raise self._refuse("mark as stopped", f"a {reason.value} stop needs a running VM")
        self._stopped(reason=reason.value)

    @event("VmStopped")
    def _stopped(self, reason: str) -> None:
        self.state = VmState.STOPPED
        self.guest_ready = False

    def record_slurm_drained(self, reason: str, jobs: list[str]) -> None:
        """ai-how drained this SLURM node (``reason`` starts 'ai-how:') with ``jobs`` on it."""
        self._slurm_drained(reason=reason, jobs=list(jobs))

    @event("SlurmNodeDrained")
    def _slurm_drained(self, reason: str, jobs: list[str]) -> None:
        self.slurm_drain = reason

    def record_slurm_requeued(self, requeued: list[str], ended: list[str]) -> None:
        """Jobs on this node put back in the queue before its stop, and those that could not be."""
        self._slurm_requeued(requeued=list(requeued), ended=list(ended))

    @event("SlurmJobsRequeued")
    def _slurm_requeued(self, requeued: list[str], ended: list[str]) -> None:
        pass

    def record_slurm_resumed(self) -> None:
        if self.slurm_drain is not None:
            self._slurm_resumed()

    @event("SlurmNodeResumed")
    def _slurm_resumed(self) -> None:
        self.slurm_drain = None

    def destroy(self) -> None:
        if self.state == VmState.DESTROYED:
            return
        if self.state in (VmState.RUNNING, VmState.STARTING, VmState.STOPPING):
            raise self._refuse("destroy", "stop it first")
        self._destroyed()

    @event("VmDestroyed")
    def _destroyed(self) -> None:
        self.state = VmState.DESTROYED
