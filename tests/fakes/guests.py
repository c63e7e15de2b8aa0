"""A ``GuestAccess`` for tests without guests: it answers commands from a table of canned
outputs, and records what it was asked (the real one is adapters/ssh, used against real
guests in tests/integration)."""

from __future__ import annotations

from ai_how.app.ports import GuestAccess


class FakeGuests(GuestAccess):
    def __init__(self, answers: dict[tuple[str, ...], str] | None = None) -> None:
        self.canned = dict(answers or {})
        self.asked: list[tuple[str, str, list[str]]] = []

    def argv(self, user: str, host: str, command: list[str], tty: bool = False) -> list[str]:
        return ["ssh", f"{user}@{host}", *command]

    def answers(self, user: str, host: str, timeout_s: float = 20) -> tuple[bool, str]:
        return True, ""

    def run(self, user: str, host: str, command: list[str], timeout_s: float = 30) -> tuple[int, str, str]:
        self.asked.append((user, host, list(command)))
        out = self.canned.get(tuple(command))
        return (0, out, "") if out is not None else (1, "", f"{command[-1]}: No such file or directory")
