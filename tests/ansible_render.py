"""Render the SLURM roles' templates with Ansible itself, for tests that read what a deploy
would write (and, on a guest, feed it to real slurmctld and slurmd)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

ROLE = REPO / "ansible" / "roles" / "slurm-common"
FILES = ("slurm.conf", "cgroup.conf", "gres.conf")


def render_slurm_files(layout: dict, destination: Path) -> dict[str, str]:
    """slurm.conf, cgroup.conf and gres.conf for ``layout``, with the role's defaults, in one
    Ansible run (one interpreter start instead of one per file)."""
    destination.mkdir(parents=True, exist_ok=True)
    variables = destination / "layout.json"
    variables.write_text(json.dumps(layout))
    playbook = destination / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render the SLURM files", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Render {{ item }}", "loop": list(FILES), "ansible.builtin.template": {
            "src": f"{ROLE / 'templates'}/{{{{ item }}}}.j2", "dest": f"{destination}/{{{{ item }}}}",
            "mode": "0644"}}]}]))
    tool = Path(sys.executable).parent / "ansible-playbook"
    out = subprocess.run(
        [str(tool), "-i", "localhost,", "-c", "local", "-e", f"@{ROLE / 'defaults' / 'main.yml'}", "-e", f"@{variables}",
         str(playbook)],
        capture_output=True, text=True, env={"ANSIBLE_CONFIG": str(REPO / "ansible" / "ansible.cfg"),
                                             "PATH": "/usr/bin:/bin", "ANSIBLE_LOCALHOST_WARNING": "False"})
    assert out.returncode == 0, out.stdout + out.stderr
    return {name: (destination / name).read_text() for name in FILES}
