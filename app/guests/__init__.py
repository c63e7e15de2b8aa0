"""What a VM needs to come up as a configured guest, and knowing when it has.

Owns the cloud-init NoCloud documents of each VM (``seeds``: hostname, the admin user with
the platform's key, the VM's own SSH host key, a static network, the shared directories) and
the readiness check the start saga waits on (``readiness``: SSH with the pinned host key).
Keys live behind the ``KeyStore`` port, SSH behind ``GuestAccess``.
"""
