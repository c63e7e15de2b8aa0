"""The host itself: its NVIDIA GPUs and whether it is ready to pass them through.

Owns the inventory of the host's GPUs from sysfs (``inventory``) and the pass/warn/fail
readiness checklist, with a config also the checks of every passed-through device
(``checks``). Exports ``inventory.inventory`` and ``checks.host_checks``. Reads the host
through the ``PciHost`` port only.
"""
