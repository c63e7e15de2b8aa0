"""What every command shares: the lazily built bus, error-to-exit-code mapping, output."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from ai_how.app.config.errors import ConfigError
from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.domain.errors import DomainError, UnknownObject

if TYPE_CHECKING:
    from ai_how.app.ports import GuestAccess, KeyStore, KubernetesApi, ModelRegistry, SlurmAt, VenvInstaller

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])

ForceCapacity = Annotated[bool, typer.Option(
    "--force", help="Start even beyond the host's capacity: warns, asks, and records the decision.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="With --force: do not ask (needed without a terminal).")]


@dataclass
class CliState:
    """Held in typer's context; nothing is opened until a command asks for it."""

    state_dir: Path | None = None
    libvirt_uri: str | None = None
    event_store: str | None = None
    _bus: Any = field(default=None, repr=False)

    def bus(self, config_uri: str | None = None, start_wait_s: float | None = None) -> Any:
        """The bus; ``config_uri`` is the config's ``global.libvirt_uri``, used when no flag or env names one."""
        if self._bus is None:
            from ai_how.app.bootstrap import bootstrap
            from ai_how.app.lifecycle.sagas import Timing
            from ai_how.app.settings import resolve_libvirt_uri

            uri = resolve_libvirt_uri(self.libvirt_uri, os.environ, config_uri)
            # --wait bounds the whole start: the domain running, then its guest answering SSH.
            timing = Timing(min(start_wait_s, 120.0), start_wait_s) if start_wait_s is not None else Timing()
            self._bus = bootstrap(self.state_dir, libvirt_uri=uri, timing=timing, event_store=self.event_store)
            self._bus.dependencies["progress"].sink = _progress_line
        return self._bus

    def reconciled(self, config_uri: str | None = None, start_wait_s: float | None = None,
                   strict: bool = True) -> Any:
        """The bus, after the log has been brought back to what libvirt shows.

        Mutating commands need that (``strict``); a status shows the recorded state with a
        warning when libvirt cannot be asked.
        """
        from ai_how.domain.commands import Reconcile

        bus = self.bus(config_uri, start_wait_s)
        try:
            report = bus.handle(Reconcile())
        except InfrastructureError as exc:
            if strict:
                raise
            typer.echo(f"warning: cannot compare with libvirt ({exc}); showing what is recorded", err=True)
            return bus
        for change in report.changes:
            typer.echo(f"reconciled: {change}", err=True)
        for conflict in report.conflicts:
            typer.echo(f"warning: {conflict}", err=True)
        if report.orphans:
            typer.echo(f"note: {len(report.orphans)} domain(s) made by ai-how are unknown to this store "
                       f"({', '.join(o.name for o in report.orphans)}); see 'ai-how reconcile'", err=True)
        return bus

    def store(self) -> Any:
        return self.bus().store

    def pci_host(self) -> Any:
        """The host's PCI devices; needs no store, so it opens none."""
        from ai_how.app.bootstrap import sysfs_host

        return sysfs_host(os.environ)

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()
            self._bus = None

    def topology(self) -> Any:
        """The topology, caught up with the log (and the views with it)."""
        return self.bus().dependencies["live_topology"].catch_up()

    def hypervisor(self) -> Any:
        return self.bus().dependencies["hypervisor"]

    # Typed accessors: the CLI asks for what it renders from, never the dependencies dict.
    def keys(self) -> KeyStore:
        return self.bus().dependencies["keys"]

    def guests(self) -> GuestAccess:
        return self.bus().dependencies["guests"]

    def slurm_at(self) -> SlurmAt:
        return self.bus().dependencies["slurm_at"]

    def kubernetes(self) -> KubernetesApi:
        return self.bus().dependencies["kubernetes"]

    def registry(self) -> ModelRegistry:
        return self.bus().dependencies["registry"]

    def kubespray_installer(self) -> VenvInstaller:
        return self.bus().dependencies["kubespray_installer"]

    @contextlib.contextmanager
    def playbook_progress(self) -> Iterator[None]:
        """A playbook run's progress as a live table (or changed lines), for what runs inside."""
        from .playbook_progress import PlaybookProgress

        progress = self.bus().dependencies["progress"]
        before = progress.sink
        with PlaybookProgress() as shown:
            progress.sink = shown
            try:
                yield
            finally:
                progress.sink = before


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
