"""Jinja2 templates: libvirt XML today; Kubespray inventory, KServe manifests and SLURM later."""
