"""Keys under the state directory's ``keys/`` (0700 folders, 0600 private files).

One ed25519 pair for the platform (its public half goes into every guest's
authorized_keys); one ed25519 host key per VM, made here and handed to the guest in its
seed, so that the very first connection already checks it: no trust on first use.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from ai_how.app.ports import KeyStore

from ..host_tools import require, run

_LOCK = threading.Lock()


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _keygen(path: Path, comment: str) -> None:
    require(["ssh-keygen"], "making SSH keys")
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], "making an SSH key")
    os.chmod(path, 0o600)


class SshKeys(KeyStore):
    """The ``KeyStore`` port."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "keys"

    def platform_key(self) -> tuple[Path, str]:
        """The platform's private key file and its public line."""
        path = _private_dir(self.root) / "platform_ed25519"
        with _LOCK:
            if not path.exists():
                _keygen(path, "ai-how platform")
        return path, Path(f"{path}.pub").read_text().strip()

    def host_key(self, vm: str) -> tuple[str, str]:
        """The VM's host key: private text (for its seed) and public line."""
        _private_dir(_private_dir(self.root) / "hosts")
        path = _private_dir(self.root / "hosts" / vm) / "ssh_host_ed25519_key"
        with _LOCK:
            if not path.exists():
                _keygen(path, vm)
        return path.read_text(), Path(f"{path}.pub").read_text().strip()

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    def pin(self, vm: str, names: list[str]) -> None:
        """known_hosts holds, for ``names`` (the VM's name and address), its host key alone."""
        _, public = self.host_key(vm)
        kind, blob = public.split()[:2]
        with _LOCK:
            self._rewrite_known_hosts(set(names), f"{','.join(names)} {kind} {blob}")

    def forget(self, vm: str) -> None:
        """The VM is destroyed: its host key and pin go."""
        folder = self.root / "hosts" / vm
        for path in folder.glob("*"):
            path.unlink()
        if folder.exists():
            folder.rmdir()
        with _LOCK:
            self._rewrite_known_hosts({vm})

    def cluster_secret(self, cluster: str, kind: str, value: str | None = None) -> Path:
        """``keys/clusters/<cluster>/<kind>``, made once, 0600: 1024 random bytes for a MUNGE
        key (``munge.key``), 32 URL-safe characters for a password (``*-password``)."""
        _private_dir(_private_dir(self.root) / "clusters")
        path = _private_dir(self.root / "clusters" / cluster) / kind
        with _LOCK:
            if value is not None and (not path.exists() or path.read_bytes() != value.encode()):
                path.unlink(missing_ok=True)  # the config gives it: the config's value it is
            if not path.exists():
                data = value.encode() if value is not None else (
                    os.urandom(1024) if kind == "munge.key" else secrets.token_urlsafe(24).encode())
                tmp = path.with_suffix(".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, path)
        return path

    def forget_cluster(self, cluster: str) -> None:
        """The cluster is destroyed: its secrets go (a new cluster of that name gets new ones)."""
        folder = self.root / "clusters" / cluster
        for path in folder.glob("*"):
            path.unlink()
        if folder.exists():
            folder.rmdir()
        (self.root.parent / "kube" / f"{cluster}.conf").unlink(missing_ok=True)

    def store_kubeconfig(self, cluster: str, text: str) -> Path:
        """``kube/<cluster>.conf`` beside ``keys/``: the cluster's admin credentials, 0600."""
        folder = _private_dir(self.root.parent / "kube")
        path = folder / f"{cluster}.conf"
        tmp = folder / f".{cluster}.conf.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
        return path

    def _rewrite_known_hosts(self, names: set[str], added: str | None = None) -> None:
        """known_hosts without the lines for any of ``names``, plus ``added``; replaced whole, 0600."""
        if not self.known_hosts.exists() and added is None:
            return
        lines = self.known_hosts.read_text().splitlines() if self.known_hosts.exists() else []
        kept = [line for line in lines if not set(line.split(" ", 1)[0].split(",")) & names]
        if added:
            kept.append(added)
        _private_dir(self.root)
        tmp = self.known_hosts.with_suffix(".tmp")
        tmp.write_text("".join(f"{line}\n" for line in kept))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.known_hosts)
