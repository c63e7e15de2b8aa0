"""A ``GuestAccess`` for tests without guests: it answers commands from a table of canned
outputs, and records what it was asked (the real one is adapters/ssh, used against real
guests in tests/integration)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import GuestAccess


class FakeGuests(GuestAccess):
    """``folders``: a guest's folder (by host and path) as a local folder, for ``fetch``."""

    def __init__(self, answers: dict[tuple[str, ...], str] | None = None,
                 folders: dict[tuple[str, str], Path] | None = None) -> None:
        self.canned = dict(answers or {})
        self.folders = dict(folders or {})
        self.asked: list[tuple[str, str, list[str]]] = []

    def argv(self, user: str, host: str, command: list[str], tty: bool = False) -> list[str]:
        return ["ssh", f"{user}@{host}", *command]

    def answers(self, user: str, host: str, timeout_s: float = 20) -> tuple[bool, str]:
        return True, ""

    def run(self, user: str, host: str, command: list[str], timeout_s: float = 30) -> tuple[int, str, str]:
        self.asked.append((user, host, list(command)))
        out = self.canned.get(tuple(command))
        return (0, out, "") if out is not None else (1, "", f"{command[-1]}: No such file or directory")

    def fetch(self, user: str, host: str, folder: str, into: Path, timeout_s: float = 600) -> None:
        self.asked.append((user, host, ["fetch", folder]))
        source = self.folders.get((host, folder))
        if source is None:
            raise InfrastructureError(f"cannot copy {folder} from {host}: tar: {folder}: Cannot open: No such file or "
                                      "directory")
        shutil.copytree(source, into, dirs_exist_ok=True)
