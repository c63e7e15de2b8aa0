"""The write side of VMs and clusters: the commands that change what runs, and their sagas.

Owns leasing and releasing GPUs and provisioning clusters (``leases``), starting, stopping
and destroying VMs and clusters (``clusters``), the sagas that drive the hypervisor and VFIO
on recorded events (``sagas``), bringing the log back to what libvirt shows (``reconcile``),
a changed config applied to stopped VMs (``redefine``), what a start would do (``start_plan``),
both clusters as one platform (``system``) and the GPU move: its rules (``moves``) beside its
saga (``handover``). Exports ``COMMAND_HANDLERS`` and
``EVENT_HANDLERS`` (``handlers``) for the composition root, the result types the CLI
renders, and ``sagas.Timing``.
"""
