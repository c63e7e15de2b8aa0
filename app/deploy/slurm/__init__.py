"""SLURM on the HPC cluster: ``saga`` (``DeployCluster`` and its playbook run), ``layout``
(the nodes, GPUs and partitions slurm.conf is written from), ``inventory`` (the Ansible
inventory of the running VMs, from the log) and ``oumi`` (Oumi's access to the controller)."""
