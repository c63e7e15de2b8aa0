"""The Packer templates and the playbooks they apply pass their tools' own checks, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, require_tool

IMAGES = ["hpc-base", "cloud-base"]
# A local file and a literal checksum: validating must not reach Debian's servers.
OFFLINE = ["-var", "cloud_image_url=file:///var/cache/ai-how/debian-genericcloud-amd64.qcow2",
           "-var", "cloud_image_checksum=sha512:" + "0" * 128]


def _tool_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


@pytest.mark.parametrize("name", IMAGES)
def test_the_packer_template_validates(name: str) -> None:
    require_tool("packer", "apt-get install packer")
    out = subprocess.run(["packer", "validate", *OFFLINE, "-var", f"image={name}", "golden-image.pkr.hcl"],
                         cwd=REPO / "packer", capture_output=True, text=True, env=_tool_env(), timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_packer_template_refuses_an_image_it_does_not_build() -> None:
    require_tool("packer", "apt-get install packer")
    out = subprocess.run(["packer", "validate", *OFFLINE, "-var", "image=gpu-base", "golden-image.pkr.hcl"],
                         cwd=REPO / "packer", capture_output=True, text=True, env=_tool_env(), timeout=120)
    assert out.returncode != 0 and "must be hpc-base or cloud-base" in out.stdout + out.stderr


@pytest.mark.parametrize("name", IMAGES)
def test_the_image_playbook_passes_a_syntax_check(name: str) -> None:
    playbook = REPO / "ansible" / "playbooks" / f"image-{name}.yml"
    out = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                          str(playbook)], capture_output=True, text=True, env={**_tool_env(), "ANSIBLE_ROLES_PATH":
                                                                             str(REPO / "ansible" / "roles")})
    assert out.returncode == 0, out.stdout + out.stderr
