"""Deterministic aggregate ids from natural keys, so every process finds the same aggregate.

Memoised: handlers derive the same few ids on every command, and uuid5 hashes each time.
"""

import hashlib
from functools import lru_cache
from uuid import UUID, uuid5

AI_HOW_NAMESPACE = UUID("6f1f4b8e-2a3c-5d7e-9b1a-3c5e7f9a1b2d")


@lru_cache(maxsize=4096)
def gpu_id(pci_address: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"gpu:{pci_address}")


@lru_cache(maxsize=4096)
def vm_id(name: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"vm:{name}")


@lru_cache(maxsize=4096)
def cluster_id(name: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"cluster:{name}")


@lru_cache(maxsize=1024)
def image_id(name: str, recipe_digest: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"image:{name}:{recipe_digest}")


@lru_cache(maxsize=4096)
def mac_address(vm: str) -> str:
    """The VM's MAC: stable per VM name, in QEMU's locally administered 52:54:00 range."""
    digest = hashlib.sha256(vm.encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


@lru_cache(maxsize=1024)
def service_id(namespace: str, name: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"isvc:{namespace}/{name}")


@lru_cache(maxsize=1024)
def move_id(pci_address: str) -> UUID:
    """The card's move: one at a time per card, started again for each new move."""
    return uuid5(AI_HOW_NAMESPACE, f"gpu-move:{pci_address}")


@lru_cache(maxsize=1024)
def model_id(name: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"model:{name}")


def host_cpus_id() -> UUID:
    """The one record of which host CPUs pinned VMs hold."""
    return uuid5(AI_HOW_NAMESPACE, "host-cpus")


@lru_cache(maxsize=1024)
def snapshot_id(cluster: str, name: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"snapshot:{cluster}/{name}")
