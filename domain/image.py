"""The Image aggregate: one golden image, named by what it is made of (its recipe's digest).

Same recipe, same image: a second build of an unchanged recipe finds this aggregate and its
file, and builds nothing. ``--force`` builds again and records ``ImageRebuilt``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .ids import image_id


class Image(Aggregate):
    @staticmethod
    def create_id(name: str, recipe_digest: str, **_: Any) -> UUID:
        return image_id(name, recipe_digest)

    @event("ImageBuilt")
    def __init__(self, name: str, recipe_digest: str, path: str, sha256: str, size: int, suite: str,
                 builder: str, packages: list[str], seconds: float) -> None:
        self.name = name
        self.recipe_digest = recipe_digest
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.suite = suite
        self.builder = builder
        self.packages = packages

    def rebuilt(self, path: str, sha256: str, size: int, seconds: float) -> None:
        self._rebuilt(path=path, sha256=sha256, size=size, seconds=seconds)

    @event("ImageRebuilt")
    def _rebuilt(self, path: str, sha256: str, size: int, seconds: float) -> None:
        self.path = path
        self.sha256 = sha256
        self.size = size
