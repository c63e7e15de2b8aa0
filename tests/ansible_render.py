"""Render the SLURM roles' templates with Ansible itself, for tests that read what a deploy
would write (and, on a guest, feed it to real slurmctld and slurmd)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

ROLE = REPO / "ansible" / "roles" / "slurm-common"
FILES = ("slurm.conf", "cgroup.conf", "gres.conf")


def render_slurm_files(layout: dict, destination: Path) -> dict[str, str]:
    """slurm.conf, cgroup.conf and gres.conf for ``layout``, with the role's defaults."""
    destination.mkdir(parents=True, exist_ok=True)
    variables = destination / "layout.json"
    variables.write_text(json.dumps(layout))
    tool = Path(sys.executable).parent / "ansible"
    for name in FILES:
        out = subprocess.run(
            [str(tool), "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.template",
             "-a", f"src={ROLE / 'templates' / (name + '.j2')} dest={destination / name} mode=0644",
             "-e", f"@{ROLE / 'defaults' / 'main.yml'}", "-e", f"@{variables}"],
            capture_output=True, text=True, env={"ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg"),
                                                 "PATH": "/usr/bin:/bin", "ANSIBLE_LOCALHOST_WARNING": "False"})
        assert out.returncode == 0, out.stdout + out.stderr
    return {name: (destination / name).read_text() for name in FILES}
