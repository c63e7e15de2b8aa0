"""Kubernetes on the Cloud cluster by Kubespray: ``checkout`` (a release and its own venv),
``inventory`` (hosts.yaml and group_vars from the config), ``saga`` (``DeployKubernetes``),
``nodes`` (workers that join, drain before a stop, come back) and ``common`` (what both use)."""
