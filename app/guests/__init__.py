"""What a VM needs to come up as a configured guest.

Owns the cloud-init NoCloud documents of each VM (``seeds``: hostname, the admin user with
the platform's key, the VM's own SSH host key pinned before its first boot, a static network,
the shared directories). Exports ``seeds.seeds_for``. Keys live behind the ``KeyStore`` port;
the start saga waits for readiness through ``GuestAccess`` (SSH with the pinned host key).
"""
