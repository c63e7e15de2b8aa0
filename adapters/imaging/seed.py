"""cloud-init NoCloud seeds: an ISO 9660 volume labelled ``cidata`` (xorriso), 0600."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..host_tools import require, run


def write_seed_iso(path: Path, documents: dict[str, str]) -> None:
    """``documents``: file name (user-data, meta-data, network-config) -> content. Written
    beside the final path and moved into place whole; it holds the VM's SSH host key."""
    require(["xorriso"], "writing a cloud-init seed")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".seed-", dir=path.parent) as scratch:
        folder = Path(scratch)
        os.chmod(folder, 0o700)
        names = []
        for name, content in sorted(documents.items()):
            (folder / name).write_text(content)
            names.append(name)
        out = folder / "seed.iso"
        run(["xorriso", "-as", "mkisofs", "-quiet", "-output", str(out), "-volid", "cidata", "-joliet", "-rock",
             *[str(folder / n) for n in names]], f"writing the cloud-init seed {path.name}")
        os.chmod(out, 0o600)
        os.replace(out, path)
