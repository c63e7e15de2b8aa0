"""A Kubespray checkout: where it is, which release it is, which Kubernetes versions it ships,
and the virtual environment (its own pinned Ansible) it runs in.

Found by ``--kubespray DIR``, then ``AI_HOW_KUBESPRAY_DIR``, then ``global.kubespray.path``.
Its release is ``galaxy.yml``'s ``version``; the Kubernetes versions it can install are the
keys of ``kubelet_checksums`` (newest first: Kubespray's own default is the first, its
minimum the last). Its venv lives under the state directory (or ``AI_HOW_KUBESPRAY_VENV_DIR``),
one per release and requirements file, so ai-how's own Ansible is never tied to Kubespray's pins;
a venv made whole once is used again.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_how.app.errors import UsageError

MINIMUM = (2, 29)
PINNED_TAG = "v2.29.0"
CLONE = f"git clone --branch {PINNED_TAG} --depth 1 https://github.com/kubernetes-sigs/kubespray.git"
CHECKSUMS = Path("roles/kubespray_defaults/vars/main/checksums.yml")
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "ppc64le": "ppc64le"}


class KubesprayMissing(UsageError):
    """No usable checkout, or no venv for it: what to run is in the message."""


@dataclass(frozen=True)
class Kubespray:
    path: Path
    version: str
    kube_versions: tuple[str, ...]  # newest first

    @property
    def requirements(self) -> Path:
        return self.path / "requirements.txt"

    def resolve(self, wanted: str | None) -> str:
        """A full version: ``1.33`` becomes the newest 1.33.x this checkout ships."""
        if wanted is None:
            return self.kube_versions[0]
        wanted = wanted.removeprefix("v")
        for version in self.kube_versions:
            if version == wanted or version.startswith(wanted + "."):
                return version
        raise UsageError(f"Kubernetes {wanted} is not one Kubespray {self.version} at {self.path} supports "
                         f"({self.kube_versions[-1]} to {self.kube_versions[0]}); set "
                         "clusters.cloud.kubernetes_config.version to one of those")

    def venv(self, venvs: Path) -> Path:
        """This release's venv in ``venvs`` (``settings.resolve_kubespray_venvs``)."""
        digest = hashlib.sha256(self.requirements.read_bytes()).hexdigest()[:8] if self.requirements.exists() else "0"
        return venvs / f"venv-{self.version}-{digest}"

    def made(self, venvs: Path) -> bool:
        """Was this release's venv made whole (``.complete`` is written last)?"""
        return (self.venv(venvs) / ".complete").exists()

    def ansible_playbook(self, venvs: Path) -> Path:
        binary = self.venv(venvs) / "bin" / "ansible-playbook"
        if not self.made(venvs):
            raise KubesprayMissing(f"Kubespray {self.version} has no environment yet; make it with: "
                                   f"ai-how kubespray setup {self.path}")
        return binary


def locate(flag: Path | None, env: Mapping[str, str], configured: str | None) -> Path | None:
    if flag is not None:
        return flag
    if env.get("AI_HOW_KUBESPRAY_DIR"):
        return Path(env["AI_HOW_KUBESPRAY_DIR"])
    return Path(configured) if configured else None


def _version(text: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


def read_checkout(path: Path | None) -> Kubespray:
    """The checkout at ``path``; missing, unreadable or older than 2.29 is exit 2 with what to run."""
    import yaml

    fetch = (f"get Kubespray with: {CLONE} DIR, then: ai-how kubespray setup DIR, and pass --kubespray DIR "
             "(or set AI_HOW_KUBESPRAY_DIR or global.kubespray.path)")
    if path is None:
        raise KubesprayMissing(f"no Kubespray checkout is known; {fetch}")
    galaxy = path / "galaxy.yml"
    if not (path / "cluster.yml").is_file() or not galaxy.is_file():
        raise KubesprayMissing(f"{path} is not a Kubespray checkout (no cluster.yml and galaxy.yml); {fetch}")
    try:
        version = str(yaml.safe_load(galaxy.read_text())["version"])
        checksums = yaml.safe_load((path / CHECKSUMS).read_text())
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise KubesprayMissing(f"cannot read Kubespray's release at {path} ({exc}); {fetch}") from None
    if _version(version).release[:2] < MINIMUM:
        raise KubesprayMissing(f"Kubespray {version} at {path} is too old: ai-how needs 2.29 or newer; {fetch}")
    arch = ARCH.get(platform.machine(), "amd64")
    kubelets = (checksums or {}).get("kubelet_checksums", {}).get(arch) or {}
    versions = tuple(sorted((str(v) for v in kubelets), key=_version, reverse=True))
    if not versions:
        raise KubesprayMissing(f"Kubespray at {path} lists no Kubernetes version for {arch} in {CHECKSUMS}")
    return Kubespray(path.resolve(), version, versions)


def setup(checkout: Kubespray, venvs: Path, installer: Any, on_line: Any, rebuild: bool = False) -> Path:
    """Kubespray's venv in ``venvs``, made unless one was made whole for the same requirements;
    its ansible-playbook."""
    if not checkout.requirements.is_file():
        raise KubesprayMissing(f"{checkout.path} has no requirements.txt; is it a Kubespray checkout?")
    venv = checkout.venv(venvs)
    if not rebuild and checkout.made(venvs):
        on_line(f"{venv} was made for this requirements.txt already; --rebuild makes it anew")
        return checkout.ansible_playbook(venvs)
    return installer.make(checkout.requirements, venv, on_line)


def known_versions(flag: Path | None, env: Mapping[str, str], configured: str | None) -> list[str] | None:
    """The Kubernetes versions of the checkout ``validate`` knows of, if one is known and readable."""
    path = locate(flag, env, configured)
    if path is None:
        return None
    try:
        return list(read_checkout(path).kube_versions)
    except KubesprayMissing:
        return None
