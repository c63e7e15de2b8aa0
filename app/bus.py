"""The message bus: each command to exactly one handler, each saved event to its handlers.

Modelled on Cosmic Python's message bus, with one addition: a command whose save loses an
optimistic-concurrency race is retried whole, so the domain rule, not the database, answers
the loser ("GPU ... is leased to ...").
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import RecordConflictError

from ai_how.domain.commands import Command

from .errors import StoreContention
from .ports import EventStore

log = logging.getLogger(__name__)

CommandHandler = Callable[[Command], Any]


@dataclass(frozen=True)
class EventHandler:
    """Reacts to one saved event; may return a follow-up command (the next saga step).

    ``on_failure`` turns the handler's exception into a command that records the failure
    as an event (e.g. ``VmStartFailed``); the exception is then raised to the caller.
    """

    handle: Callable[[Any], Command | None]
    on_failure: Callable[[Any, Exception], Command | None] | None = None


class MessageBus:
    def __init__(
        self,
        store: EventStore,
        command_handlers: dict[type[Command], CommandHandler],
        event_handlers: dict[type, list[EventHandler]],
        max_attempts: int = 12,
    ) -> None:
        self.store = store
        self.command_handlers = command_handlers
        self.event_handlers = event_handlers
        self.max_attempts = max_attempts

    def handle(self, command: Command) -> Any:
        """Run ``command`` and every event and follow-up command it leads to."""
        result = self._run_command(command)
        queue: list[Any] = self.store.collect_new_events()
        while queue:
            message = queue.pop(0)
            if isinstance(message, Command):
                self._run_command(message)
            else:
                queue.extend(self._dispatch_event(message))
            queue.extend(self.store.collect_new_events())
        return result

    def _run_command(self, command: Command) -> Any:
        try:
            handler = self.command_handlers[type(command)]
        except KeyError:
            raise LookupError(f"no handler is registered for {type(command).__name__}") from None
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

    def _dispatch_event(self, event: Any) -> list[Command]:
        follow_ups = []
        for handler in self.event_handlers.get(type(event), []):
            try:
                command = handler.handle(event)
            except Exception as exc:
                if handler.on_failure is None:
                    raise
                compensation = handler.on_failure(event, exc)
                if compensation is not None:
                    self.handle(compensation)
                raise
            if command is not None:
                follow_ups.append(command)
        return follow_ups
