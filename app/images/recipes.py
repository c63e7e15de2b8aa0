"""Recipes: what a golden image is made of, and the digest that names it.

The package list of each image is its Ansible role's (``ansible/roles/<name>-packages``), the
one list the offline builder and Packer's provisioner share. The digest covers the suite,
that list, every file of the role and the builder's version: change any of them and the
image is another one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError
from ai_how.app.ports import ImageRecipe

IMAGES = {"hpc-base": "HPC node: SLURM, MUNGE, OpenMPI, build tools",
          "cloud-base": "Kubernetes node: containerd's and kube-proxy's prerequisites"}
SUITES = ("trixie", "bookworm")  # the CLI defaults to trixie, the seeds' Debian 13


def role_dir(ansible_dir: Path, name: str) -> Path:
    return ansible_dir / "roles" / f"{name}-packages"


def _role_defaults(ansible_dir: Path, name: str) -> tuple[Path, dict[str, Any]]:
    import yaml

    defaults = role_dir(ansible_dir, name) / "defaults" / "main.yml"
    try:
        return defaults, yaml.safe_load(defaults.read_text()) or {}
    except OSError as exc:
        raise UsageError(f"cannot read the package list of {name} ({defaults}): {exc.strerror}") from None


def role_lists(ansible_dir: Path, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The image's packages (``<name>_packages`` and ``_extra``) and the services they enable that
    it carries off (``<name>_services_off``), from its role's defaults, read once."""
    defaults, data = _role_defaults(ansible_dir, name)
    variable = f"{name.replace('-', '_')}_packages"
    packages = list(data.get(variable) or []) + list(data.get(f"{variable}_extra") or [])
    if not packages or not all(isinstance(p, str) for p in packages):
        raise UsageError(f"{defaults}: '{variable}' must be a list of Debian package names")
    off = f"{name.replace('-', '_')}_services_off"
    services = list(data.get(off) or [])
    if not all(isinstance(s, str) for s in services):
        raise UsageError(f"{defaults}: '{off}' must be a list of service names")
    return tuple(packages), tuple(services)


def _files_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def recipe(ansible_dir: Path, name: str, suite: str, builder: str) -> ImageRecipe:
    if name not in IMAGES:
        raise UsageError(f"unknown image {name!r}: ai-how builds {', '.join(sorted(IMAGES))}")
    if suite not in SUITES:
        raise UsageError(f"unknown Debian suite {suite!r}: choose {' or '.join(SUITES)}")
    packages, services_off = role_lists(ansible_dir, name)
    role = _files_digest(role_dir(ansible_dir, name))
    shape = {"name": name, "suite": suite, "packages": sorted(packages), "role": role, "builder": builder}
    digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()
    return ImageRecipe(name, suite, packages, role, builder, digest, services_off)


def file_name(recipe: ImageRecipe) -> str:
    return f"{recipe.name}-{recipe.suite}-{recipe.digest[:12]}.qcow2"
