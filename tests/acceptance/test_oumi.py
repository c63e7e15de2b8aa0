"""Steps for features/oumi.feature: the SSH config as ``hpc oumi --write`` leaves it."""

from __future__ import annotations

import stat
from pathlib import Path

from pytest_bdd import parsers, scenarios, then

scenarios("oumi.feature")


@then(parsers.parse('"{path}" is private and holds one stanza for {host} with the platform key and the pinned '
                    'known_hosts'))
def stanza_written(noted: dict[str, str], state_dir: Path, path: str, host: str) -> None:
    config = Path(path.replace("{tmp}", noted["tmp"]))
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert text.count(f"Host {host}\n") == 1, text
    keys = state_dir / "keys"
    for line in (f"IdentityFile {keys / 'platform_ed25519'}", "IdentitiesOnly yes",
                 f"UserKnownHostsFile {keys / 'known_hosts'}", "StrictHostKeyChecking yes", "User aihow"):
        assert f"  {line}\n" in text, (line, text)
