"""Golden images: their recipes and the tools that build them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)


class ImageRecipe:
    """What an image is made of; ``digest`` names it (same recipe, same image)."""

    name: str  # hpc-base, cloud-base
    suite: str  # Debian suite: trixie, bookworm
    packages: tuple[str, ...]  # the role's list (ansible/roles/<name>-packages)
    role_digest: str  # of every file of that role
    builder: str  # the builder's name and version
    digest: str
    services_off: tuple[str, ...] = ()  # enabled by the packages, off in the image (the role's list)


@dataclass(frozen=True)


class BuiltImage:
    path: str
    sha256: str
    size: int


class ImageBuilder(Protocol):
    """Makes a bootable qcow2 from a recipe (the offline builder, or Packer)."""

    name: str

    @property
    def version(self) -> str:
        """Changes whenever the build steps do: part of every recipe's digest."""

    def check(self) -> None:
        """Raise with the install command when a tool the build needs is missing."""

    def build(self, recipe: ImageRecipe, destination: Path, progress: Callable[[str], None]) -> BuiltImage:
        """Build into a scratch directory and move the image to ``destination`` only when whole."""
