"""libvirt: networks, storage pools, disks and domains. ``libvirt`` is imported lazily."""

from .hypervisor import LibvirtHypervisor

__all__ = ["LibvirtHypervisor"]
