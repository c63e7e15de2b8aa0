"""Where the state lives: ``--state-dir``, ``AI_HOW_STATE_DIR``, else ``$XDG_STATE_HOME/ai-how``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def resolve_state_dir(explicit: str | Path | None, env: Mapping[str, str]) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env.get("AI_HOW_STATE_DIR"):
        return Path(env["AI_HOW_STATE_DIR"]).expanduser()
    xdg = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(xdg).expanduser() / "ai-how"
