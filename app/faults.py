"""Crash injection for the crash-safety tests: not a user feature, deliberately undocumented.

With ``AI_HOW_CRASH_AT=<point>`` the process kills itself with SIGKILL when it reaches that
point, as a power cut or ``kill -9`` would: no cleanup, no compensation. In-process specs
replace ``crash`` with an exception no handler catches.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "AI_HOW_CRASH_AT"
POINTS = ("after-define", "after-lease-saved", "after-domain-start", "before-vm-started-saved")
RESTORE_POINTS = ("restore-after-first-disk",)
MOVE_POINTS = tuple(f"gpu-move-after-{step}" for step in ("drain", "stop_holder", "start_target", "ready"))


def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        crash()
