"""Unpacking a tar archive that came from elsewhere (a guest, a backup file) without letting it
write outside its folder.

Python's own ``data`` filter does it where the interpreter has one (3.11.4 and later, 3.12);
Debian 12's Python 3.11.2 has none, so there the same rules are applied here first: names
under the folder (leading slashes dropped) and none escaping it, no link pointing out of it,
no device or FIFO, no set-id, sticky or group/other-write bit, and the files owned by whoever
unpacks them.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path


def extract_all(archive: tarfile.TarFile, into: Path) -> None:
    """Every member of ``archive`` (read once: a stream will do) under ``into``; ``tarfile.TarError``
    naming the first member that breaks the rules, before it is written."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(into, filter="data")
        return
    archive.extractall(into, members=_checked(archive, os.path.realpath(into)))


def _inside(root: str, path: str) -> bool:
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def _checked(archive: tarfile.TarFile, root: str) -> Iterator[tarfile.TarInfo]:
    for member in archive:
        member.name = name = member.name.lstrip("/")  # as Python's filter does: under the folder
        if os.path.isabs(name) or not _inside(root, os.path.join(root, name)):
            raise tarfile.TarError(f"{name!r} would be written outside the folder it is unpacked into")
        if member.isdev() or member.isfifo():
            raise tarfile.TarError(f"{name!r} is a device or a FIFO")
        if member.issym() or member.islnk():
            target = member.linkname
            base = os.path.dirname(os.path.join(root, name)) if member.issym() else root
            if os.path.isabs(target) or not _inside(root, os.path.join(base, target)):
                raise tarfile.TarError(f"{name!r} links to {target!r}, outside the folder it is unpacked into")
        member.mode &= 0o755
        member.uid, member.gid, member.uname, member.gname = os.geteuid(), os.getegid(), "", ""
        yield member
