"""What every command shares: the lazily built bus, error-to-exit-code mapping, output."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import typer

from ai_how.app.config.errors import ConfigError
from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.session import Session
from ai_how.domain.errors import DomainError, UnknownObject

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])



class CliState(Session):
    """The session of one command line: reconcile's lines and progress go to stderr."""

    def __init__(self, state_dir: Path | None = None, libvirt_uri: str | None = None,
                 event_store: str | None = None) -> None:
        super().__init__(state_dir, libvirt_uri, event_store, warn=lambda line: typer.echo(line, err=True),
                         progress=_progress_line)

    @contextlib.contextmanager
    def playbook_progress(self) -> Iterator[None]:
        """A playbook run's progress as a live table (or changed lines), for what runs inside."""
        from .playbook_progress import PlaybookProgress

        with PlaybookProgress() as shown, self.progress_to(shown):
            yield


def _progress_line(subject: str, message: str) -> None:
    """Progress goes to stderr, so that --json output stays one document on stdout."""
    typer.echo(f"{subject}: {message}", err=True)


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def fail(message: str, code: int, hint: str | None = None) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(hint, err=True)
    return typer.Exit(code)


def handles_errors(func: F) -> F:
    """Turn known failures into one or two lines on stderr and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except ConfigError as exc:
            raise fail(f"{exc.source}: " + "; ".join(str(i) for i in exc.issues), EXIT_USAGE) from None
        except UnknownObject as exc:
            raise fail(str(exc), EXIT_USAGE, exc.hint) from None
        except DomainError as exc:
            raise fail(str(exc), EXIT_REFUSED, exc.hint) from None
        except UsageError as exc:
            raise fail(str(exc), EXIT_USAGE) from None
        except InfrastructureError as exc:
            raise fail(str(exc), EXIT_INFRA) from None
        except OSError as exc:  # a file or folder the command was given, or one it keeps
            where = f"{exc.filename}: " if exc.filename else ""
            raise fail(f"{where}{exc.strerror or exc}", EXIT_INFRA) from None
        except Exception as exc:
            if os.environ.get("AI_HOW_DEBUG"):
                raise
            raise fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INFRA,
                       "this is a bug in ai-how; run again with AI_HOW_DEBUG=1 for the traceback") from None

    return wrapper  # type: ignore[return-value]


def interactive() -> bool:
    """Is somebody at a terminal to answer a question?"""
    return sys.stdin.isatty()


def confirm(question: str, yes: bool, what: str) -> None:
    """Destructive commands ask first; without a terminal they need ``--yes``."""
    if yes:
        return
    if not interactive():
        raise fail(f"refusing to {what} without confirmation: no terminal to ask; pass --yes", EXIT_USAGE)
    if not typer.confirm(question, default=False):
        raise fail("cancelled: nothing was changed", EXIT_REFUSED)


def job_policy(drain: bool, force: bool, timeout_s: float) -> Any:
    """``--drain`` / ``--force`` / neither: what a stop does about SLURM jobs (a JobPolicy)."""
    from ai_how.domain.commands import JobPolicy

    if drain and force:
        raise UsageError("--drain and --force: choose one (--drain waits for the jobs, --force requeues them)")
    return JobPolicy("drain" if drain else "force" if force else "refuse", timeout_s)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=str, separators=(",", ":")) + "\n")


def console() -> Any:
    from rich.console import Console

    # Piped output (logs, CI, tests) gets wide tables instead of columns cut at 80.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def over_capacity(run: Callable[[bool], Any], force: bool, yes: bool) -> Any:
    """``run(forced)`` a start; one beyond the host's capacity is refused unless ``--force``,
    which warns and asks first (``--yes`` without a terminal)."""
    from ai_how.app.host.capacity import CapacityExceeded

    try:
        return run(False)
    except CapacityExceeded as exc:
        if not force:
            raise
        typer.echo(f"warning: {exc}", err=True)
        confirm("Start over the host's capacity? Its VMs may swap or stall.", yes, "start over the host's capacity")
        result = run(True)
        typer.echo("warning: started over the host's capacity; the decision is recorded (CapacityOverridden)",
                   err=True)
        return result
