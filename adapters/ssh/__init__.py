"""SSH with OpenSSH's own tools: the platform's key pair, each VM's host key, the pinned
known_hosts, and connections that trust nothing else (``StrictHostKeyChecking=yes``)."""
