"""Why a file is not a cluster config: light, so that every command can name the field
without building the config models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        shown = f" (got {self.value!r})" if self.value is not None else ""
        return f"{self.path}: {self.message}{shown}" if self.path else f"{self.message}{shown}"


class ConfigError(Exception):
    """The file cannot be read as a cluster config; ``issues`` say where and why."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__(f"{source}: " + "; ".join(str(i) for i in issues))
