"""Connections to guests with OpenSSH: the platform key, the pinned known_hosts, nothing else."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import GuestAccess, KeyStore
from ai_how.app.safe_tar import extract_all

from . import shared_connections

# Written by cloud-init's last stage: before it, a later stage may still restart sshd.
BOOT_FINISHED = "/var/lib/cloud/instance/boot-finished"


class SshGuests(GuestAccess):
    """The ``GuestAccess`` port."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def options(self, connect_timeout_s: int = 5) -> list[str]:
        key, _ = self.keys.platform_key()
        return ["-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.keys.known_hosts}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "CheckHostIP=no", "-o", "LogLevel=ERROR",
                "-o", f"ConnectTimeout={connect_timeout_s}", "-o", "ServerAliveInterval=15"]

    def socket(self, user: str, host: str) -> Path | None:
        """The socket of the connection the commands to ``user@host`` share (None: each its own)."""
        return shared_connections.socket_for(self.keys.known_hosts, user, host)

    def argv(self, user: str, host: str, command: list[str], tty: bool = False, shared: bool = True) -> list[str]:
        """The ssh command line for ``user@host`` (``host`` as pinned: the VM's name or address).
        Each word of ``command`` reaches the guest as that word (quoted for its shell), as if it
        ran here: ``sh -c 'exit 7'`` exits 7 there. The connection is shared with the commands
        before and after it (``shared_connections``) unless ``shared`` is false."""
        remote = [shlex.join(command)] if command else []
        mux = shared_connections.options(self.socket(user, host) if shared else None)
        return ["ssh", *self.options(), *mux, *(["-t"] if tty else []), "--", f"{user}@{host}", *remote]

    def answers(self, user: str, host: str, timeout_s: float = 20) -> tuple[bool, str]:
        """One try: does the guest's sshd accept our key, showing the pinned host key, and has
        cloud-init finished configuring it? (False, why) otherwise: refused, unreachable, still
        configuring, or a host key that is not the pinned one.

        It is asked while a guest boots: a connection still open to the guest's previous boot
        (killed, or put back by a restore) is closed first, and the try connects on its own."""
        shared_connections.hang_up(self.socket(user, host), host)
        try:
            out = subprocess.run(self.argv(user, host, ["test", "-e", BOOT_FINISHED], shared=False),
                                 capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False, "no answer"
        if out.returncode == 0:
            return True, ""
        if out.returncode == 1:
            return False, "SSH answers; cloud-init is still configuring the guest"
        return False, (out.stderr.strip().splitlines() or [f"ssh exit {out.returncode}"])[-1]

    def run(self, user: str, host: str, command: list[str], timeout_s: float = 30) -> tuple[int, str, str]:
        """Run ``command`` on the guest: (exit code, stdout, stderr); 255 when ssh itself failed."""
        try:
            out = subprocess.run(self.argv(user, host, command), capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return 255, "", f"no answer in {timeout_s:.0f} s"
        return out.returncode, out.stdout, out.stderr

    def fetch(self, user: str, host: str, folder: str, into: Path, timeout_s: float = 600) -> None:
        """tar on the guest, streamed over SSH and unpacked here by ``safe_tar`` (no absolute paths,
        links out of ``into``, devices or set-id bits)."""
        import tarfile

        with subprocess.Popen(self.argv(user, host, ["sudo", "tar", "-C", folder, "-cf", "-", "."]),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as ssh:
            assert ssh.stdout is not None and ssh.stderr is not None
            try:
                with tarfile.open(fileobj=ssh.stdout, mode="r|") as archive:
                    extract_all(archive, into)
            except tarfile.TarError as exc:
                ssh.kill()
                why = ssh.stderr.read().decode(errors="replace").strip().splitlines()
                raise InfrastructureError(f"cannot copy {folder} from {host}: {(why or [str(exc)])[0]}") from None
            try:
                ssh.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                ssh.kill()
                raise InfrastructureError(f"copying {folder} from {host} took over {timeout_s:.0f} s") from None
            if ssh.returncode != 0:
                why = ssh.stderr.read().decode(errors="replace").strip().splitlines()
                raise InfrastructureError(f"cannot copy {folder} from {host}: "
                                          f"{(why or [f'ssh exit {ssh.returncode}'])[0]}")
