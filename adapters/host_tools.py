"""Running the host's tools (image builders, ssh-keygen, xorriso): each failure one line naming
the tool, and the install command when it is missing."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ai_how.app.errors import InfrastructureError

# tool -> the Debian package that ships it
PACKAGES = {"mmdebstrap": "mmdebstrap", "mkfs.ext4": "e2fsprogs", "mkfs.vfat": "dosfstools", "mcopy": "mtools",
            "syslinux": "syslinux", "sfdisk": "fdisk", "qemu-img": "qemu-utils", "xorriso": "xorriso",
            "ssh-keygen": "openssh-client", "packer": "packer"}
SYSLINUX_FILES = {"mbr": Path("/usr/lib/syslinux/mbr/mbr.bin")}


class ToolMissing(InfrastructureError):
    """A host tool is not installed (exit 3, with the install command)."""


def missing(tools: Sequence[str]) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


def require(tools: Sequence[str], what: str) -> None:
    absent = missing(tools)
    if absent:
        packages = sorted({PACKAGES.get(t, t) for t in absent})
        raise ToolMissing(f"{what} needs {', '.join(absent)}, which is not installed; "
                          f"install it with: apt-get install {' '.join(packages)}")


def run(args: Sequence[str], what: str, log: Path | None = None, timeout_s: float | None = None) -> str:
    """Run a tool; on failure, the last lines of its output (the whole of it is in ``log``)."""
    try:
        out = subprocess.run(list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                             timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise InfrastructureError(f"{what}: {args[0]} did not finish within {timeout_s:g}s") from None
    except OSError as exc:
        raise InfrastructureError(f"{what}: cannot run {args[0]}: {exc.strerror}") from None
    if log is not None:
        with log.open("a") as f:
            f.write(f"$ {' '.join(args)}\n{out.stdout}{out.stderr}\n")
    if out.returncode != 0:
        tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-3:])
        hint = f"; the full output is in {log}" if log else ""
        raise InfrastructureError(f"{what}: {args[0]} failed (exit {out.returncode}): {tail}{hint}")
    return out.stdout
