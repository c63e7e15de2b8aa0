"""Start profiles: how a domain is asked to run (KVM with the host's CPU, KVM with a model,
TCG). Best first; a start refused for the CPU model or for KVM, or a guest that dies while it
boots, moves to the next one; the one that worked is remembered for the host."""

from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from ai_how.app.errors import UsageError
from ai_how.domain.specs import VmPlan

from . import domains
from .domains import Profile

PROFILES = (Profile("kvm", "host-passthrough"), Profile("kvm", "host-model"), Profile("qemu", None, "tcg"))
TEST_PROFILES = {"doomed": Profile("qemu", None, "doomed (test)", dies_after_s=3.0)}
NAMED = {p.name: p for p in PROFILES} | TEST_PROFILES


def parse_profiles(text: str) -> list[Profile]:
    """``AI_HOW_START_PROFILES``: profile names in order, e.g. 'doomed,tcg'."""
    chosen = []
    for name in (n.strip() for n in text.split(",") if n.strip()):
        if name not in NAMED:
            raise UsageError(f"AI_HOW_START_PROFILES: unknown start profile {name!r}; "
                             f"choose from {', '.join(NAMED)}")
        chosen.append(NAMED[name])
    return chosen


class StartProfiles:
    """The profiles this host can run, from the remembered one on (``memory``: its file)."""

    def __init__(self, profiles: list[Profile] | None, domain_type: str | None, memory: Path | None,
                 capabilities: Callable[[], str]) -> None:
        self._profiles = [p for p in (profiles or PROFILES) if domain_type in (None, p.domain_type)]
        self._memory = memory
        self._capabilities = capabilities
        self._usable: list[Profile] | None = None
        self._lock = threading.Lock()

    def usable(self) -> list[Profile]:
        with self._lock:
            if self._usable is None:
                caps = ET.fromstring(self._capabilities())
                has_kvm = "kvm" in {d.get("type") for d in caps.iter("domain")}
                usable = [p for p in self._profiles if has_kvm or p.domain_type != "kvm"] or self._profiles
                remembered = self._remembered()
                names = [p.name for p in usable]
                if remembered in names:
                    usable = usable[names.index(remembered):]
                self._usable = usable
            return list(self._usable)

    def _remembered(self) -> str | None:
        try:
            return self._memory.read_text().strip() if self._memory else None
        except OSError:
            return None

    def remember(self, profile: Profile) -> None:
        if profile.dies_after_s is not None:
            return
        with self._lock:
            if self._usable is not None and profile in self._usable:
                self._usable = self._usable[self._usable.index(profile):]
        if self._memory is None or self._remembered() == profile.name:
            return
        try:
            self._memory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._memory, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(profile.name + "\n")
        except OSError:
            pass  # a start that worked does not fail for want of remembering it

    def for_vm(self, vm: VmPlan) -> list[Profile]:
        """What the VM's ``hardware.acceleration`` allows of the host's profiles."""
        wanted = vm.spec.acceleration
        profiles = self.usable()
        if wanted is None:
            return profiles
        if not wanted.enable_kvm:
            profiles = [p for p in profiles if p.domain_type != "kvm"]
            return profiles or [Profile("qemu", None, "tcg")]
        if wanted.cpu_model:
            tcg_model = None if wanted.cpu_model.startswith("host-") else wanted.cpu_model
            kvm = [Profile("kvm", wanted.cpu_model)] if any(p.domain_type == "kvm" for p in profiles) else []
            return kvm + [Profile("qemu", tcg_model, "tcg" if tcg_model is None else "")]
        return profiles

    def from_defined(self, vm: VmPlan, defined: tuple[str, str | None]) -> list[Profile]:
        """The VM's profiles, from the one its domain is defined with on."""
        profiles = self.for_vm(vm)
        at = next((i for i, p in enumerate(profiles) if (p.domain_type, p.cpu_mode) == defined), None)
        return profiles[at:] if at is not None else profiles

    @staticmethod
    def after_refusal(failed: Profile, error: str, rest: list[Profile]) -> list[Profile]:
        """The remaining profiles that avoid what refused ``failed`` (none if nothing would)."""
        if domains.is_kvm_refusal(error):
            return [p for p in rest if p.domain_type != "kvm"]
        if domains.is_cpu_model_refusal(error) and failed.cpu_mode:
            return [p for p in rest if p.cpu_mode != failed.cpu_mode]
        return []
