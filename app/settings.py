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

DEFAULT_LIBVIRT_URI = "qemu:///system"


def resolve_libvirt_uri(explicit: str | None, env: Mapping[str, str], from_config: str | None = None) -> str:
    """``--libvirt-uri``, then ``AI_HOW_LIBVIRT_URI``, then the config's ``global.libvirt_uri``."""
    return explicit or env.get("AI_HOW_LIBVIRT_URI") or from_config or DEFAULT_LIBVIRT_URI


def resolve_pool_root(uri: str, state_dir: Path, env: Mapping[str, str]) -> Path:
    """Where each cluster's storage pool folder goes; the system daemon's QEMU must reach it."""
    if env.get("AI_HOW_POOL_ROOT"):
        return Path(env["AI_HOW_POOL_ROOT"]).expanduser()
    if uri.startswith("qemu:///system"):
        return Path("/var/lib/libvirt/images/ai-how")
    if uri.startswith("qemu:///session"):
        return Path(env.get("HOME") or Path.home()) / ".local/share/libvirt/images/ai-how"
    return state_dir / "pools"


def resolve_ansible_dir(env: Mapping[str, str]) -> Path:
    """The project's ``ansible/`` tree (roles, playbooks); ``AI_HOW_ANSIBLE_DIR`` overrides."""
    if env.get("AI_HOW_ANSIBLE_DIR"):
        return Path(env["AI_HOW_ANSIBLE_DIR"]).expanduser()
    return Path(__file__).resolve().parents[1] / "ansible"


def resolve_kubespray_venvs(state_dir: Path, env: Mapping[str, str]) -> Path:
    """Where Kubespray's venvs are made, one per release and requirements digest:
    ``AI_HOW_KUBESPRAY_VENV_DIR`` (one folder several state directories may share), else
    ``<state>/kubespray``."""
    if env.get("AI_HOW_KUBESPRAY_VENV_DIR"):
        return Path(env["AI_HOW_KUBESPRAY_VENV_DIR"]).expanduser()
    return state_dir / "kubespray"


def resolve_image_dir(uri: str, state_dir: Path, env: Mapping[str, str]) -> Path:
    """Where built images are kept: where the hypervisor's QEMU can read them as backing files."""
    if env.get("AI_HOW_IMAGE_DIR"):
        return Path(env["AI_HOW_IMAGE_DIR"]).expanduser()
    if uri.startswith("qemu:///system"):
        return Path("/var/lib/libvirt/images/ai-how-golden")
    return state_dir / "images"
