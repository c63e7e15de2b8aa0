"""Where long work (image builds, boots, waits) says how far it got.

Handlers are wired once, at bootstrap; the CLI points the sink at the terminal afterwards.
"""

from __future__ import annotations

from collections.abc import Callable


class Progress:
    def __init__(self) -> None:
        self.sink: Callable[[str, str], None] | None = None

    def __call__(self, subject: str, message: str) -> None:
        if self.sink is not None:
            self.sink(subject, message)
