"""The composition root: the only place that knows which adapters implement the ports."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .bus import EventHandler, MessageBus
from .handlers import COMMAND_HANDLERS
from .ports import EventStore
from .settings import resolve_state_dir
from .store import AiHowApplication, EventSourcedStore


def inject(handler: Callable[..., Any], dependencies: Mapping[str, Any]) -> Callable[[Any], Any]:
    """Bind the handler's keyword parameters by name (Cosmic Python's bootstrap)."""
    wanted = inspect.signature(handler).parameters
    bound = {name: dep for name, dep in dependencies.items() if name in wanted}
    return lambda message: handler(message, **bound)


def open_store(state_dir: str | Path | None = None, env: Mapping[str, str] | None = None) -> EventStore:
    from ai_how.adapters.event_store import sqlite_settings

    env = os.environ if env is None else env
    settings = sqlite_settings(resolve_state_dir(state_dir, env))
    return EventSourcedStore(AiHowApplication(env=settings))


def bootstrap(
    state_dir: str | Path | None = None,
    store: EventStore | None = None,
    event_handlers: dict[type, list[EventHandler]] | None = None,
    env: Mapping[str, str] | None = None,
) -> MessageBus:
    store = store if store is not None else open_store(state_dir, env)
    dependencies = {"store": store}
    command_handlers = {cmd: inject(fn, dependencies) for cmd, fn in COMMAND_HANDLERS.items()}
    return MessageBus(store, command_handlers, event_handlers or {})
