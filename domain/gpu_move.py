"""The GpuMove aggregate: one card handed from the VM that holds it to another that configures
it, as a saga of recorded steps. Keyed by the card: one move at a time per card; a finished
move is started again by the next one.

Steps, in order: ``drain`` (the holder's SLURM or Kubernetes node empties), ``stop_holder``
(its lease released), ``start_target`` (the lease taken), ``ready`` (the target's guest and,
when deployed, its node take work). ``GpuMoveStepDone`` records each; a move that stops in
between stays ``in_progress`` and is finished by running it again or by ``reconcile``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .errors import InvalidTransition
from .ids import move_id

STEPS = ("drain", "stop_holder", "start_target", "ready")


class MoveState(StrEnum):
    IN_PROGRESS = "in_progress"
    MOVED = "moved"
    FAILED = "failed"


class GpuMove(Aggregate):
    @staticmethod
    def create_id(pci_address: str, **_: Any) -> UUID:
        return move_id(pci_address)

    @event("GpuMoveStarted")
    def __init__(self, pci_address: str, holder: str | None, target: str, drain_timeout_s: float,
                 force: bool, owner: str) -> None:
        self.pci_address = pci_address
        self._started_fields(holder, target, drain_timeout_s, force, owner)

    def _started_fields(self, holder: str | None, target: str, drain_timeout_s: float, force: bool,
                        owner: str) -> None:
        self.owner = owner  # host:pid:start time of the process that moves it
        self.holder = holder
        self.target = target
        self.drain_timeout_s = drain_timeout_s
        self.force = force
        self.state = MoveState.IN_PROGRESS
        self.done: dict[str, str] = {}  # step -> what was done
        self.reason: str | None = None
        self.failed_step: str | None = None

    def restart(self, holder: str | None, target: str, drain_timeout_s: float, force: bool, owner: str) -> None:
        if self.state == MoveState.IN_PROGRESS:
            raise InvalidTransition(f"GPU {self.pci_address} is being moved to {self.target} already: finish that "
                                    f"move ('ai-how gpu move {self.pci_address} --to {self.target}') or run "
                                    "'ai-how reconcile'")
        self._restarted(holder=holder, target=target, drain_timeout_s=drain_timeout_s, force=force, owner=owner)

    @event("GpuMoveRestarted")
    def _restarted(self, holder: str | None, target: str, drain_timeout_s: float, force: bool, owner: str) -> None:
        self._started_fields(holder, target, drain_timeout_s, force, owner)

    def resume(self, owner: str) -> None:
        """Another process finishes a move whose own process is gone."""
        self._alive("resume")
        self._resumed(owner=owner)

    @event("GpuMoveResumed")
    def _resumed(self, owner: str) -> None:
        self.owner = owner

    @property
    def in_progress(self) -> bool:
        return self.state == MoveState.IN_PROGRESS

    @property
    def next_step(self) -> str | None:
        return next((s for s in STEPS if s not in self.done), None)

    def step_done(self, step: str, detail: str) -> None:
        if step not in STEPS:
            raise ValueError(f"not a step of a GPU move: {step}")
        self._alive(f"record step {step}")
        if step not in self.done:
            self._step_done(step=step, detail=detail)

    @event("GpuMoveStepDone")
    def _step_done(self, step: str, detail: str) -> None:
        self.done = {**self.done, step: detail}

    def finish(self, seconds: float) -> None:
        self._alive("finish")
        missing = [s for s in STEPS if s not in self.done]
        if missing:
            raise InvalidTransition(f"the move of GPU {self.pci_address} has steps left: {', '.join(missing)}")
        self._moved(seconds=seconds)

    @event("GpuMoved")
    def _moved(self, seconds: float) -> None:
        self.state = MoveState.MOVED

    def fail(self, step: str | None, reason: str) -> None:
        self._alive("fail")
        self._failed(step=step, reason=reason)

    @event("GpuMoveFailed")
    def _failed(self, step: str | None, reason: str) -> None:
        self.state = MoveState.FAILED
        self.failed_step = step
        self.reason = reason

    def _alive(self, action: str) -> None:
        if self.state != MoveState.IN_PROGRESS:
            raise InvalidTransition(f"cannot {action} for the move of GPU {self.pci_address}: it is {self.state}")
