"""What Oumi's launcher needs to run jobs on an HPC cluster through its SLURM cloud: the
``OUMI_SLURM_CONNECTIONS`` value (``user@host``, where sbatch runs: the controller) and an
SSH config stanza for that host with the platform key and the pinned known_hosts, so that
Oumi's plain ``ssh user@host`` is checked as ai-how's own is. ``--write`` keeps the stanza in
a marked block of the SSH config, first in the file (ssh takes the first value it reads)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import KeyStore


@dataclass(frozen=True)
class OumiAccess:
    """What ``hpc oumi`` shows: the connection, its SSH stanza, and the controller as recorded."""

    controller: str
    connection: str
    stanza: str
    controller_state: str
    boots_an_os: bool


def oumi_access(topology: Any, cluster: str, keys: KeyStore) -> OumiAccess:
    controller = f"{cluster}-controller"
    vm = topology.vm(controller)
    if vm is None:
        raise UsageError(f"{cluster} has no controller VM recorded here; start it with 'ai-how hpc start CONFIG'")
    spec = vm.spec
    if not spec.ip:
        raise UsageError(f"{controller} has no static IP: Oumi has no host to reach; give it an ip in the config")
    private_key, _ = keys.platform_key()
    return OumiAccess(controller, connection(spec.login, controller),
                      stanza(controller, spec.ip, spec.login, private_key, keys.known_hosts), vm.state, spec.has_os)


def connection(user: str, host: str) -> str:
    return f"{user}@{host}"


def stanza(host: str, address: str, user: str, private_key: Path, known_hosts: Path) -> str:
    return "\n".join([f"Host {host}", f"  HostName {address}", f"  User {user}", f"  IdentityFile {private_key}",
                      "  IdentitiesOnly yes", f"  UserKnownHostsFile {known_hosts}", "  StrictHostKeyChecking yes",
                      ""])


def _markers(cluster: str) -> tuple[str, str]:
    return f"# >>> ai-how {cluster} (ai-how hpc oumi --write) >>>", f"# <<< ai-how {cluster} <<<"


def write_stanza(path: Path, cluster: str, text: str) -> bool:
    """Put ``text`` in the cluster's block of the SSH config at ``path`` (made 0600, its folder
    0700, when new); False when it was there already, unchanged."""
    from ai_how.app.user_files import UnreadableFile, read_text, regular_or_absent

    begin, end = _markers(cluster)
    block = f"{begin}\n{text}{end}\n"
    try:
        regular_or_absent(path)
        current = read_text(path, 16 << 20) if path.exists() else ""
    except UnreadableFile as exc:
        raise UsageError(f"--ssh-config {path}: {exc}") from None
    pattern = re.compile(rf"^{re.escape(begin)}\n.*?^{re.escape(end)}\n?", re.DOTALL | re.MULTILINE)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current, count=1)
    else:
        updated = block + ("\n" + current if current else "")
    if updated == current:
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.ai-how")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, path.stat().st_mode & 0o777 if path.exists()
                 else 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(updated)
    os.replace(temporary, path)
    return True
