"""Kubespray's own virtual environment: its requirements.txt (the Ansible it pins) and the
kubernetes client, which the add-on roles' kubernetes.core modules use from this host."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import VenvInstaller

EXTRA = ("kubernetes>=30",)


class KubesprayVenv(VenvInstaller):
    def __init__(self, python: str = sys.executable) -> None:
        self.python = python

    def make(self, requirements: Path, venv: Path, on_line: Callable[[str], None]) -> Path:
        """Make ``venv`` anew; ``.complete`` in it says it was made whole. Its ansible-playbook."""
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._step([self.python, "-m", "venv", str(venv)], on_line, f"create {venv}")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        self._step([*pip, "-r", str(requirements), *EXTRA], on_line, f"install {requirements} and {', '.join(EXTRA)}")
        binary = venv / "bin" / "ansible-playbook"
        if not binary.exists():
            raise InfrastructureError(f"{requirements} installed no ansible-playbook into {venv}; is it Kubespray's?")
        (venv / ".complete").write_text(str(requirements) + "\n")
        return binary

    @staticmethod
    def _step(argv: list[str], on_line: Callable[[str], None], what: str) -> None:
        on_line(what)
        done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-2:])
            raise InfrastructureError(f"could not {what}: {tail or f'exit {done.returncode}'}")
