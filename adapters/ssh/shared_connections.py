"""One SSH connection per guest, shared by the commands that follow (OpenSSH's ControlMaster).

A new connection costs a TCG guest seconds of its one vCPU (sshd's key exchange and login);
a session on a connection already open costs a fraction of that. So the first command to a
guest leaves its connection open for ``PERSIST_S`` seconds after the last one ends, and the
commands in between ride on it.

The socket's name is a digest of the key folder, the user, the host and the host key pinned
for it: a connection is only shared by commands that would have checked the same pinned key,
and a changed pin opens (and checks) a new one. The sockets live in a 0700 folder of the user's
own under the temporary directory; where that folder cannot be made safely, or its path is too
long for a socket, every command connects on its own, as before.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import tempfile
from pathlib import Path

PERSIST_S = 120
MAX_PATH = 90
"""The longest ControlPath OpenSSH can listen on: it binds ``<path>.<16 random characters>`` first,
and a UNIX socket's path holds 107 bytes. A master given a longer one logs in, then exits 255
("too long for Unix domain socket") without running the command (OpenSSH 9.2: 90 works, 91 fails)."""


def socket_folder() -> Path | None:
    """The user's own 0700 folder for the sockets, or None when it is not safely theirs."""
    folder = Path(tempfile.gettempdir()) / f"ai-how-ssh-{os.geteuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        seen = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(seen.st_mode) or seen.st_uid != os.geteuid() or seen.st_mode & 0o077:
        return None
    return folder


def pinned_line(known_hosts: Path, host: str) -> str | None:
    """The known_hosts line that pins ``host``'s key (by name or address), if any."""
    try:
        lines = known_hosts.read_text().splitlines()
    except OSError:
        return None
    return next((line for line in lines if host in line.split(" ", 1)[0].split(",")), None)


def socket_for(known_hosts: Path, user: str, host: str) -> Path | None:
    """The shared connection's socket for ``user@host`` (a key folder's known_hosts); None:
    connect on its own."""
    pin = pinned_line(known_hosts, host)
    folder = socket_folder() if pin else None
    if folder is None:
        return None
    digest = hashlib.sha256(f"{known_hosts.parent.resolve()}\n{user}\n{host}\n{pin}".encode()).hexdigest()[:20]
    socket = folder / digest
    return socket if len(os.fsencode(socket)) <= MAX_PATH else None


def options(socket: Path | None) -> list[str]:
    if socket is None:
        return ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
    return ["-o", "ControlMaster=auto", "-o", f"ControlPath={socket}", "-o", f"ControlPersist={PERSIST_S}"]


def hang_up(socket: Path | None, host: str) -> None:
    """Close the shared connection, if one is open: after a guest went away without closing it
    (killed, or restored), the next command must not wait on a connection nobody answers."""
    if socket is None or not socket.exists():
        return
    subprocess.run(["ssh", "-o", f"ControlPath={socket}", "-O", "exit", host], capture_output=True,
                   stdin=subprocess.DEVNULL, timeout=10, check=False)
    socket.unlink(missing_ok=True)
