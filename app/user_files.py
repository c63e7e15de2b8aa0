"""Reading a file a user named (a config, @FILE data, an SSH config to edit): a regular file
of sensible size, or one line that says what it is instead. A FIFO is never read: that
would wait for a writer forever."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnreadableFile(ValueError):
    """The path is no regular file, is too big, or cannot be read; the message says which."""


def read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UnreadableFile("file not found") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read the file: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise UnreadableFile("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("is not a regular file (a device, FIFO or socket)")
        if info.st_size > max_bytes:
            raise UnreadableFile(f"is {info.st_size} bytes, more than the {max_bytes} this takes")
        return handle.read(max_bytes + 1)


def read_text(path: Path, max_bytes: int) -> str:
    try:
        return read_bytes(path, max_bytes).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def regular_or_absent(path: Path) -> None:
    """Refuse a path that exists as something other than a regular file (before writing it)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnreadableFile(f"cannot use it: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise UnreadableFile("is a directory, device, FIFO or socket, not a file")
