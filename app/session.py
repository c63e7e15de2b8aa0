"""One command's session: the bus, built on first use from the global options, and what the
CLI asks of it by name (typed accessors, never the dependencies dict)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_how.app.errors import InfrastructureError

if TYPE_CHECKING:
    from ai_how.app.ports import GuestAccess, KeyStore, KubernetesApi, ModelRegistry, SlurmAt, VenvInstaller

Say = Callable[[str], None]
Sink = Callable[[str, str], None]


@dataclass
class Session:
    """Nothing is opened until a command asks for it. ``warn`` takes the lines a reconcile
    reports; ``progress`` the progress of long steps (subject, message)."""

    state_dir: Path | None = None
    libvirt_uri: str | None = None
    event_store: str | None = None
    warn: Say = field(default=lambda line: None, repr=False)
    progress: Sink = field(default=lambda subject, message: None, repr=False)
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
            self._bus.dependencies["progress"].sink = self.progress
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
            self.warn(f"warning: cannot compare with libvirt ({exc}); showing what is recorded")
            return bus
        for change in report.changes:
            self.warn(f"reconciled: {change}")
        for conflict in report.conflicts:
            self.warn(f"warning: {conflict}")
        if report.orphans:
            self.warn(f"note: {len(report.orphans)} domain(s) made by ai-how are unknown to this store "
                      f"({', '.join(o.name for o in report.orphans)}); see 'ai-how reconcile'")
        return bus

    def close(self) -> None:
        if self._bus is not None:
            self._bus.close()
            self._bus = None

    def store(self) -> Any:
        return self.bus().store

    def pci_host(self) -> Any:
        """The host's PCI devices; needs no store, so it opens none."""
        from ai_how.app.bootstrap import sysfs_host

        return sysfs_host(os.environ)

    def topology(self) -> Any:
        """The topology, caught up with the log (and the views with it)."""
        return self.bus().dependencies["live_topology"].catch_up()

    def hypervisor(self) -> Any:
        return self.bus().dependencies["hypervisor"]

    def views(self) -> Any:
        return self.bus().dependencies["views"]

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
    def progress_to(self, sink: Sink) -> Iterator[None]:
        """The progress of what runs inside goes to ``sink`` (a live table, say)."""
        progress = self.bus().dependencies["progress"]
        before = progress.sink
        progress.sink = sink
        try:
            yield
        finally:
            progress.sink = before
