"""What every builder does around its own steps: a scratch folder beside the destination, a
build log that outlives it, and the finished image moved into place only when whole."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ai_how.app.images.build import sha256_of
from ai_how.app.ports import BuiltImage


@contextlib.contextmanager
def scratch(destination: Path, kind: str) -> Iterator[tuple[Path, Path]]:
    """(scratch folder, build log); the folder is removed however the build ends."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{destination.name}.{kind}.", dir=destination.parent))
    log = destination.with_name(destination.name + ".build.log")
    log.write_text("")
    try:
        yield work, log
    finally:
        shutil.rmtree(work, ignore_errors=True)


def install(image: Path, destination: Path) -> BuiltImage:
    """Readable by QEMU (it is a backing file), hashed, then renamed over the final name."""
    os.chmod(image, 0o644)
    digest = sha256_of(image)
    size = image.stat().st_size
    os.replace(image, destination)
    return BuiltImage(str(destination), digest, size)
