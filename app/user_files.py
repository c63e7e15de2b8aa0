"""Reading a file a user named (a config, @FILE data, an SSH config to edit): a regular file
of sensible size, or one line that says what it is instead. A FIFO is never read: that
would wait for a writer forever."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnreadableFile(ValueError):
    """The path is no regular file, is too big, or cannot be read; the message says which.
    ``wrong_path``: it names nothing, or something that is no file; ``too_big``: over the limit."""

    def __init__(self, message: str, wrong_path: bool = False, too_big: bool = False) -> None:
        super().__init__(message)
        self.wrong_path, self.too_big = wrong_path, too_big


def read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UnreadableFile("file not found", wrong_path=True) from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read the file: {exc.strerror}") from None
    info = os.fstat(fd)  # before fdopen, which refuses a directory with its own error
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = UnreadableFile("is a directory, not a file", wrong_path=True)
    elif not stat.S_ISREG(info.st_mode):
        problem = UnreadableFile("is not a regular file (a device, FIFO or socket)", wrong_path=True)
    elif info.st_size > max_bytes:
        problem = UnreadableFile(f"is {info.st_size} bytes, more than the {max_bytes} this takes", too_big=True)
    if problem is not None:
        os.close(fd)
        raise problem
    with os.fdopen(fd, "rb") as handle:
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
