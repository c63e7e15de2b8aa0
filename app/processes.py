"""Which process on this host runs a long command (a GPU move), and whether it still does: a
PID and its start time (``/proc/PID/stat``), so a PID the kernel reused is not taken for it."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _started(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command name


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid()) or '?'}"


def alive(owner: str | None) -> bool:
    """Does ``owner`` still run? One on another host is taken to (it cannot be asked)."""
    if not owner:
        return False
    host, pid, started = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return True
    return _started(int(pid)) == started if started != "?" else os.path.exists(f"/proc/{pid}")


def pid_of(owner: str) -> str:
    return owner.rsplit(":", 2)[1]
