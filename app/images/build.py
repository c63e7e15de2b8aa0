"""``BuildImage``: build an image once per recipe; a second build of the same recipe is a hit."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import BuiltImage, EventStore, ImageBuilder
from ai_how.domain.commands import BuildImage
from ai_how.domain.ids import image_id
from ai_how.domain.image import Image

from .recipes import file_name, recipe


@dataclass(frozen=True)
class ImageBuildResult:
    name: str
    suite: str
    recipe_digest: str
    path: str
    sha256: str
    size: int
    cached: bool
    seconds: float
    builder: str


@dataclass(frozen=True)
class ImagePlaces:
    """Where the role files are read and where built images are kept."""

    ansible_dir: Path
    image_dir: Path


def _intact(image: Image) -> bool:
    try:
        return os.path.getsize(image.path) == image.size
    except OSError:
        return False


def build_image(command: BuildImage, store: EventStore, image_builders: Mapping[str, ImageBuilder],
                image_places: ImagePlaces, progress: Callable[[str, str], None]) -> ImageBuildResult:
    builder = image_builders.get(command.builder)
    if builder is None:
        raise UsageError(f"unknown image builder {command.builder!r}: choose {' or '.join(sorted(image_builders))}")
    wanted = recipe(image_places.ansible_dir, command.name, command.suite, f"{builder.name}:{builder.version}")
    found: Image | None = store.get(image_id(wanted.name, wanted.digest))
    if found is not None and not command.force and _intact(found):
        return ImageBuildResult(found.name, found.suite, found.recipe_digest, found.path, found.sha256, found.size,
                                True, 0.0, found.builder)
    destination = image_places.image_dir / file_name(wanted)
    started = time.monotonic()
    cached = not command.force and destination.is_file()
    if cached:
        # Content-addressed: a file under this recipe's name was built whole (builds move into
        # place only when complete), by this store or another; it is recorded, not rebuilt.
        progress(command.name, f"found {destination.name}, built from this recipe; recording it")
        built = BuiltImage(str(destination), sha256_of(destination), destination.stat().st_size)
    else:
        builder.check()
        built = builder.build(wanted, destination, lambda step: progress(command.name, step))
    seconds = round(time.monotonic() - started, 1)
    if found is None:
        image = Image(name=wanted.name, recipe_digest=wanted.digest, path=built.path, sha256=built.sha256,
                      size=built.size, suite=wanted.suite, builder=wanted.builder, packages=list(wanted.packages),
                      seconds=seconds)
    else:
        image = found
        image.rebuilt(built.path, built.sha256, built.size, seconds)
    store.save(image)
    return ImageBuildResult(wanted.name, wanted.suite, wanted.digest, built.path, built.sha256, built.size, cached,
                            seconds, wanted.builder)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


COMMAND_HANDLERS: dict[type, Any] = {BuildImage: build_image}
