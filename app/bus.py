"""The message bus: each command to exactly one handler, each saved event to its handlers.

Modelled on Cosmic Python's message bus, with one addition: a *decision* whose save loses an
optimistic-concurrency race is retried whole on fresh state, so the domain rule, not the
database, answers the loser ("GPU ... is leased to ..."). A handler that acts on the world
(defines a domain, runs a playbook, drains a node) is never run twice for one command: its
saves are decisions of their own (``decide``), retried on fresh state without the effects
around them; a conflict it does not decide that way is reported, not repeated.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from eventsourcing.persistence import RecordConflictError

from ai_how.domain.commands import Command

from .errors import InfrastructureError, StoreContention
from .ports import EventStore

log = logging.getLogger(__name__)

CommandHandler = Callable[[Command], Any]
T = TypeVar("T")


def idempotent(handler: Callable[..., T]) -> Callable[..., T]:
    """Mark a handler whose effects a rerun repeats harmlessly (it observes, then repairs): the
    bus may retry it whole, like a decision."""
    handler.idempotent = True  # type: ignore[attr-defined]
    return handler


def retried_whole(handler: Callable[..., Any]) -> bool:
    return getattr(handler, "retried_whole", True)


def decide(store: EventStore, decision: Callable[[], Sequence[Any]], attempts: int = 12) -> None:
    """Save what ``decision`` changed; if another process saved first, run the decision again
    on the state it left. ``decision`` loads what it changes (``store.get``) and acts on nothing."""
    for attempt in range(1, attempts + 1):
        aggregates = decision()
        try:
            store.save(*aggregates)
            return
        except RecordConflictError:
            store.discard_new_events()
            time.sleep(random.uniform(0, 0.02 * attempt))
    raise StoreContention(f"lost {attempts} races for the store in a row; another ai-how is very busy on "
                          "the same store: try again")


@dataclass(frozen=True)
class EventHandler:
    """Reacts to one saved event; may return a follow-up command (the next saga step).

    ``on_failure`` turns the handler's exception into a command that records the failure
    as an event (e.g. ``VmStartFailed``); the exception is then raised to the caller, once
    the rest of the saga has run. ``concurrent`` handlers of one batch of like events (the
    starts of a cluster's VMs) run in parallel threads; they must not write to the store.
    """

    handle: Callable[[Any], Command | None]
    on_failure: Callable[[Any, Exception], Command | None] | None = None
    concurrent: bool = False


class SagaFailed(InfrastructureError):
    """Several event handlers of one saga failed; those with a compensation had it recorded."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        super().__init__("; ".join(str(f) for f in failures))


@dataclass
class _Outcome:
    follow_up: Command | None = None
    error: Exception | None = None
    compensation: Command | None = None


class MessageBus:
    def __init__(
        self,
        store: EventStore,
        command_handlers: dict[type[Command], CommandHandler],
        event_handlers: dict[type, list[EventHandler]],
        max_attempts: int = 12,
    ) -> None:
        self.store = store
        self.dependencies: dict[str, Any] = {"store": store}  # what handlers get; queries use the same
        self.command_handlers = command_handlers
        self.event_handlers = event_handlers
        self.max_attempts = max_attempts
        self.after_command: Callable[[], None] | None = None  # runs once a top-level command recorded events
        self._depth = 0
        self._recorded = 0  # events saved since the top-level command began

    def handle(self, command: Command) -> Any:
        """Run ``command`` and every event and follow-up command it leads to.

        A failing event handler does not stop the saga: its compensation runs first, the
        other handlers' follow-ups after it, and then the failure is raised. Once the
        outermost command is done, failed or not, ``after_command`` runs (the views catch up)
        if it recorded anything; a refusal that wrote nothing has nothing to project, and a
        query catches the views up before it reads them anyway.
        """
        if self._depth == 0:
            self._recorded = 0
        self._depth += 1
        try:
            result = self._handle(command)
        except Exception:
            self._finish(failed=True)
            raise
        except BaseException:  # a crash (or ^C): nothing more may run
            self._depth -= 1
            raise
        self._finish(failed=False)
        return result

    def _finish(self, failed: bool) -> None:
        self._depth -= 1
        if self._depth or self.after_command is None or not self._recorded:
            return
        if not failed:
            self.after_command()
            return
        try:
            self.after_command()
        except Exception as exc:  # the command's own failure is what the caller must see
            log.warning("the views did not catch up after the failed command (%s); the next command will", exc)

    def _handle(self, command: Command) -> Any:
        result = self._run_command(command)
        queue: list[Any] = self._collect()
        failures: list[Exception] = []
        while queue:
            message = queue.pop(0)
            if isinstance(message, Command):
                self._run_command(message)
            else:
                batch = [message]
                while self._is_concurrent(message) and queue and type(queue[0]) is type(message):
                    batch.append(queue.pop(0))
                outcomes = self._dispatch(batch)
                compensations = [o.compensation for o in outcomes if o.compensation is not None]
                queue[:0] = compensations + [o.follow_up for o in outcomes if o.follow_up is not None]
                failures += [o.error for o in outcomes if o.error is not None]
            queue.extend(self._collect())
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise SagaFailed(failures)
        return result

    def _collect(self) -> list[Any]:
        events = self.store.collect_new_events()
        self._recorded += len(events)
        return events

    def close(self) -> None:
        """Close what the bus's dependencies hold open (database pools, connections)."""
        self.store.close()
        views = self.dependencies.get("views")
        if views is not None:
            views.close()

    def _is_concurrent(self, event: Any) -> bool:
        handlers = self.event_handlers.get(type(event), [])
        return bool(handlers) and all(h.concurrent for h in handlers)

    def _run_command(self, command: Command) -> Any:
        try:
            handler = self.command_handlers[type(command)]
        except KeyError:
            raise LookupError(f"no handler is registered for {type(command).__name__}") from None
        if not retried_whole(handler):
            try:
                return handler(command)
            except RecordConflictError:
                self.store.discard_new_events()
                raise StoreContention(f"{type(command).__name__}: another ai-how changed the same objects while "
                                      "this one acted, and what was done is not done twice: run it again") from None
        for attempt in range(1, self.max_attempts + 1):
            try:
                return handler(command)
            except RecordConflictError:
                self.store.discard_new_events()
                log.debug("%s lost a race (attempt %d); retrying", type(command).__name__, attempt)
                time.sleep(random.uniform(0, 0.02 * attempt))
        raise StoreContention(
            f"{type(command).__name__} lost {self.max_attempts} races for the store in a row; "
            "another ai-how is very busy on the same store: try again"
        )

    def _dispatch(self, batch: list[Any]) -> list[_Outcome]:
        calls = [(event, handler) for event in batch for handler in self.event_handlers.get(type(event), [])]
        if len(calls) > 1 and self._is_concurrent(batch[0]):
            with ThreadPoolExecutor(max_workers=min(len(calls), 8)) as pool:
                return list(pool.map(lambda call: self._call(*call), calls))
        return [self._call(event, handler) for event, handler in calls]

    @staticmethod
    def _call(event: Any, handler: EventHandler) -> _Outcome:
        try:
            return _Outcome(follow_up=handler.handle(event))
        except Exception as exc:
            if handler.on_failure is None:
                return _Outcome(error=exc)
            return _Outcome(error=exc, compensation=handler.on_failure(event, exc))
