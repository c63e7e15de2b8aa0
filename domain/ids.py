"""Deterministic aggregate ids from natural keys, so every process finds the same aggregate."""

from uuid import UUID, uuid5

AI_HOW_NAMESPACE = UUID("6f1f4b8e-2a3c-5d7e-9b1a-3c5e7f9a1b2d")


def gpu_id(pci_address: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"gpu:{pci_address}")


def vm_id(name: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"vm:{name}")


def cluster_id(name: str) -> UUID:
    return uuid5(AI_HOW_NAMESPACE, f"cluster:{name}")
