"""A cluster.yaml as the commands read it: parsed, planned and validated, its Kubernetes
version checked against the known Kubespray checkout."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .loader import load_config
from .models import ClusterConfig
from .validation import Report, validate_config


def kube_versions(parsed: ClusterConfig, kubespray: Path | None = None,
                  env: Mapping[str, str] = os.environ) -> list[str] | None:
    """What the known Kubespray checkout supports, newest first (None: no checkout known)."""
    from ai_how.app.deploy.kubespray.checkout import known_versions

    return known_versions(kubespray, env, parsed.global_.kubespray.path)


def checked(path: Path, kubespray: Path | None = None) -> tuple[Report, ClusterConfig]:
    """The validation report and the parsed config; a config that cannot be parsed raises ``ConfigError``."""
    parsed = load_config(path)
    return validate_config(parsed, kube_versions(parsed, kubespray)), parsed


def planned_of(report: Report, kind: str) -> Any | None:
    """The config's cluster of ``kind`` (hpc or cloud), if it has one."""
    return next((c for c in report.clusters if c.kind == kind), None)
