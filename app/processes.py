"""Which process on this host runs a long command (a GPU move), and whether it still does: a
PID and its start time, so a PID the kernel reused is not taken for it."""

from __future__ import annotations

import os
import socket


def _started(pid: int) -> str | None:
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.Error, ValueError):
        return None


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
