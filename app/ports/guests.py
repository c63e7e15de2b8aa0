"""Reaching the guests: keys, pinned host keys, cluster secrets, SSH."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class KeyStore(Protocol):
    """The platform's SSH key pair, each VM's host key and the pinned known_hosts (0600)."""

    def platform_key(self) -> tuple[Path, str]:
        """The private key's file and the public key's line."""

    def host_key(self, vm: str) -> tuple[str, str]:
        """The VM's host key, made once: private text (for its seed only) and public line."""

    def pin(self, vm: str, names: list[str]) -> None:
        """known_hosts: ``names`` (the VM's name, its address) have the VM's host key, no other."""

    def forget(self, vm: str) -> None: ...

    @property
    def known_hosts(self) -> Path: ...

    def cluster_secret(self, cluster: str, kind: str, value: str | None = None) -> Path:
        """The file of one of the cluster's secrets (``munge.key``, ``slurmdbd-password``),
        made once, 0600 (``value``: the config's own, replacing what is there); only its path
        ever leaves the key store."""

    def forget_cluster(self, cluster: str) -> None: ...

    def store_kubeconfig(self, cluster: str, text: str) -> Path:
        """``kube/<cluster>.conf`` under the state directory, replaced whole, 0600."""


class GuestAccess(Protocol):
    """Reaching a guest's OS over SSH, checking its pinned host key."""

    def argv(self, user: str, host: str, command: list[str], tty: bool = False) -> list[str]:
        """The command line that runs ``command`` (a shell when empty) on the guest."""

    def answers(self, user: str, host: str, timeout_s: float = 20) -> tuple[bool, str]:
        """One try: (True, '') when the guest accepts the platform key with the pinned host key."""

    def run(self, user: str, host: str, command: list[str], timeout_s: float = 30) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of ``command`` on the guest; 255 when SSH itself failed."""

    def fetch(self, user: str, host: str, folder: str, into: Path, timeout_s: float = 600) -> None:
        """Copy what the guest's ``folder`` holds (read as root) into the local folder ``into``;
        raise ``InfrastructureError`` saying why when it cannot."""
