"""Configuring running clusters: what Ansible needs to know about them.

Owns the HPC cluster's Ansible inventory, made from the log (which VMs run, with what) and
never by hand (``inventory``). Exports ``inventory.hpc_inventory``, ``render_yaml`` and
``render_ini``.
"""
