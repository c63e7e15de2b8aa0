"""Building images when something is in the way: a missing tool, a full disk. Each is one
clear line with exit 3, and nothing is left under the image's final name. And recipes: the
digest that names an image changes with what it is made of, and only then."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ai_how.app.images.recipes import recipe
from tests.conftest import REPO, require_tool

AI_HOW = str(Path(sys.executable).parent / "ai-how")


def _build(tmp_path: Path, image_dir: Path, path: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AI_HOW_STATE_DIR": str(tmp_path / "state"), "AI_HOW_IMAGE_DIR": str(image_dir),
           "PATH": path, "AI_HOW_LIBVIRT_URI": "test:///default"}
    return subprocess.run([AI_HOW, "image", "build", "hpc-base", *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=900)


def test_a_missing_builder_tool_names_the_package_to_install(tmp_path: Path) -> None:
    tools = tmp_path / "bin"  # every tool of the build but mmdebstrap
    tools.mkdir()
    for tool in ("mkfs.ext4", "mkfs.vfat", "mcopy", "syslinux", "sfdisk", "qemu-img", "apt-config", "du"):
        found = shutil.which(tool)
        if found:
            (tools / tool).symlink_to(found)
    out = _build(tmp_path, tmp_path / "images", str(tools))
    assert out.returncode == 3, out.stderr
    assert out.stderr.strip().splitlines() == [
        "error: ai-how image build needs mmdebstrap, which is not installed; install it with: "
        "apt-get install mmdebstrap"]
    assert not list((tmp_path / "images").glob("*.qcow2"))


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 48 MiB filesystem where the image would go: far too small for a Debian root."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a small tmpfs: {made.stderr.decode().strip()}")
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)])


@pytest.mark.slow
def test_a_full_disk_fails_the_build_in_one_line_and_leaves_no_partial_image(tmp_path: Path, small_disk) -> None:
    require_tool("mmdebstrap", "scripts/libvirt-up.sh installs it")
    out = _build(tmp_path, small_disk, os.environ["PATH"])
    assert out.returncode == 3, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: building the hpc-base root filesystem: mmdebstrap failed")
    assert "Traceback" not in out.stderr
    left = sorted(p.name for p in small_disk.iterdir())
    assert [name for name in left if not name.endswith(".build.log")] == []  # no image, no scratch folder
    listed = subprocess.run([AI_HOW, "image", "list", "--json"], capture_output=True, text=True,
                            env={**os.environ, "AI_HOW_STATE_DIR": str(tmp_path / "state")})
    assert listed.stdout.strip() == "[]"


def test_a_recipe_digest_follows_what_the_image_is_made_of(tmp_path: Path) -> None:
    ansible = tmp_path / "ansible"
    shutil.copytree(REPO / "ansible" / "roles" / "hpc-base-packages", ansible / "roles" / "hpc-base-packages")
    base = recipe(ansible, "hpc-base", "trixie", "mmdebstrap:1")
    assert recipe(ansible, "hpc-base", "trixie", "mmdebstrap:1") == base
    assert recipe(ansible, "hpc-base", "bookworm", "mmdebstrap:1").digest != base.digest
    assert recipe(ansible, "hpc-base", "trixie", "mmdebstrap:2").digest != base.digest
    tasks = ansible / "roles" / "hpc-base-packages" / "tasks" / "main.yml"
    tasks.write_text(tasks.read_text() + "\n# a comment changes the role\n")
    assert recipe(ansible, "hpc-base", "trixie", "mmdebstrap:1").digest != base.digest
    assert "slurm-wlm" in base.packages and "munge" in base.packages
