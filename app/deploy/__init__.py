"""Configuring running clusters: SLURM on the HPC cluster, Kubernetes and its add-ons on the
Cloud cluster, with Ansible through the ``Provisioner`` port.

Owns ``slurm/`` (the deploy saga, the SLURM layout, the inventory from the log, Oumi's access),
``kubespray/`` (the checkout and its venv, the inventory, the deploy saga, the nodes kept in
step with their VMs: joins, drains), ``addons`` (the Cloud add-ons' variables) and ``runs``
(what both deploys share: run ids, the preamble, a playbook run and its outcome). Exports
``slurm.saga.deploy`` and ``kubespray.saga.deploy`` for the CLI, each saga's
``COMMAND_HANDLERS``/``EVENT_HANDLERS`` and ``kubespray.nodes.DrainBeforeStop`` for the
composition root, and the inventories, layouts and checkout readers the CLI and the tests use.
"""
