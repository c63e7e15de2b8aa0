"""Domains: define or adopt, start (KVM, else TCG), ACPI shutdown with a deadline, undefine."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from ai_how.app.ports import DomainInfo, DomainState
from ai_how.app.waiting import poll

from .connection import HypervisorError, find, libvirt_errors, libvirt_module
from .xml import NAMESPACE, QEMU_LOG_DIR

POLL_S = 0.1


def _state(lv: Any) -> dict[int, DomainState]:
    return {lv.VIR_DOMAIN_RUNNING: DomainState.RUNNING, lv.VIR_DOMAIN_SHUTOFF: DomainState.SHUTOFF,
            lv.VIR_DOMAIN_PAUSED: DomainState.PAUSED, lv.VIR_DOMAIN_CRASHED: DomainState.CRASHED}


def lookup(conn: Any, name: str) -> Any | None:
    return find(conn.lookupByName, name, "VIR_ERR_NO_DOMAIN")


def state_of(dom: Any) -> DomainState:
    """A domain that is off because QEMU died reads as CRASHED, not SHUTOFF; one paused because
    libvirtd has not finished starting it (a start whose caller died, say) reads as STARTING."""
    lv = libvirt_module()
    state, reason = dom.state()
    if state == lv.VIR_DOMAIN_SHUTOFF and reason == lv.VIR_DOMAIN_SHUTOFF_CRASHED:
        return DomainState.CRASHED
    if state == lv.VIR_DOMAIN_PAUSED and reason == lv.VIR_DOMAIN_PAUSED_STARTING_UP:
        return DomainState.STARTING
    return _state(lv).get(state, DomainState.OTHER)


def info(dom: Any) -> DomainInfo | None:
    """Our metadata, or None for a domain ai-how did not make."""
    lv = libvirt_module()
    try:
        raw = dom.metadata(lv.VIR_DOMAIN_METADATA_ELEMENT, NAMESPACE, 0)
    except lv.libvirtError:
        return None
    root = ET.fromstring(raw)
    return DomainInfo(name=dom.name(), state=state_of(dom), cluster=root.findtext("cluster", ""),
                      role=root.findtext("role", ""), spec_digest=root.findtext("spec-digest", ""))


@dataclass(frozen=True)
class Profile:
    """How a domain runs: accelerator and CPU model (None: QEMU's default).

    ``dies_after_s`` is for tests alone: the adapter kills such a domain that many seconds
    after it runs, as nested KVM hosts do to guests whose CPU model they cannot give."""

    domain_type: str
    cpu_mode: str | None
    label: str = ""
    dies_after_s: float | None = None

    @property
    def name(self) -> str:
        return self.label or (f"{self.domain_type} {self.cpu_mode}" if self.cpu_mode else self.domain_type)


def profile_of(dom: Any) -> tuple[str, str | None]:
    """The accelerator and CPU model the domain is defined with."""
    root = ET.fromstring(dom.XMLDesc(libvirt_module().VIR_DOMAIN_XML_INACTIVE))
    cpu = root.find("cpu")
    model = cpu.findtext("model") if cpu is not None else None
    mode = cpu.get("mode") if cpu is not None else None
    return root.get("type", "kvm"), model or (mode if mode != "custom" else None)


def ensure_console_folder() -> None:
    """virtlogd writes a guest's console log there, but libvirtd makes the folder only when it
    first starts a domain: on a new host the first start with a console log would fail."""
    with contextlib.suppress(OSError):
        QEMU_LOG_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)


def define(conn: Any, xml: str) -> Any:
    with libvirt_errors("cannot define domain"):
        return conn.defineXML(xml)


def _wait_for(dom: Any, wanted: DomainState, seconds: float) -> bool:
    return poll(lambda: state_of(dom), lambda state: state == wanted, seconds, POLL_S) == wanted


def is_kvm_refusal(message: str) -> bool:
    text = message.lower()
    return "kvm" in text and any(w in text for w in ("permission denied", "not available", "failed to initialize",
                                                      "could not access", "no such file"))


EARLY_DEATH = ("process exited while connecting to monitor", "unexpectedly closed the monitor")


def is_early_death(message: str) -> bool:
    """QEMU ended before libvirt could talk to it, often with no reason given."""
    return any(w in message.lower() for w in EARLY_DEATH)


def is_cpu_model_refusal(message: str) -> bool:
    """Nested or unusual hosts refuse the host's CPU model (e.g. 'failed to set MSR 0x10a').

    QEMU can also abort on it before libvirt reads a reason: an early death counts too, but
    only ever moves a domain from host-passthrough to QEMU's default model, never to TCG.
    """
    text = message.lower()
    return is_early_death(text) or any(w in text for w in ("msr", "host-passthrough", "cpu model", "cpuid"))


def start(dom: Any, wait_s: float) -> None:
    lv = libvirt_module()
    if state_of(dom) == DomainState.STARTING:
        _wait_for(dom, DomainState.RUNNING, wait_s)  # a start another caller began and libvirtd finishes
    if state_of(dom) == DomainState.RUNNING:
        return
    try:
        dom.create()
    except lv.libvirtError as exc:
        raise HypervisorError(f"cannot start {dom.name()}: {exc.get_error_message()}") from None
    if not _wait_for(dom, DomainState.RUNNING, wait_s):
        raise HypervisorError(f"{dom.name()} did not reach 'running' within {wait_s:g}s (it is {state_of(dom)})")


def shutdown(dom: Any, timeout_s: float) -> str:
    lv = libvirt_module()
    with libvirt_errors(f"cannot stop {dom.name()}"):
        if not dom.isActive():
            return "already off"
        try:
            dom.shutdown()
        except lv.libvirtError:
            pass  # no ACPI listener (e.g. still in firmware): the deadline below forces it off
        if _wait_for(dom, DomainState.SHUTOFF, timeout_s):
            return "acpi"
        # False: its ACPI shutdown ended between the deadline and the forced stop.
        return "forced" if force_off(dom) else "acpi"


def force_off(dom: Any) -> bool:
    """Off now; True when this call stopped it. A domain that goes off by itself meanwhile (its
    own shutdown, a guest dying as it boots) is off all the same: libvirt's "domain is not
    running" then is no failure."""
    lv = libvirt_module()
    try:
        if dom.isActive():
            dom.destroy()
            return True
    except lv.libvirtError:
        if dom.isActive():
            raise
    return False


def undefine(dom: Any) -> None:
    lv = libvirt_module()
    with libvirt_errors(f"cannot remove domain {dom.name()}"):
        force_off(dom)
        # SeaBIOS domains have no NVRAM to remove.
        dom.undefineFlags(lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)


def ours(conn: Any) -> list[DomainInfo]:
    with libvirt_errors("cannot list domains"):
        found = (info(dom) for dom in conn.listAllDomains(0))
        return sorted((d for d in found if d is not None), key=lambda d: d.name)
