"""Cluster configuration: what ``cluster.yaml`` may say, and what it means.

Owns the pydantic models of the file (``models``), reading it with ``${VAR}`` expansion and
errors that name the field (``loader``), the plan of VMs and GPUs it implies (``plan``) and the
checks across clusters (``validation``). Exports ``loader.load_config``,
``loader.ConfigError``, ``plan.plan_clusters``/``PlannedCluster`` and
``validation.validate_config``. Imports nothing itself, so that a command that reads no config
builds no pydantic model.
"""
