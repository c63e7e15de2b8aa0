"""Steps for the features that run VMs on libvirt's test driver: cluster and VM lifecycles
and the shared GPU. Most steps are shared (conftest.py); these write configs and read status."""

from __future__ import annotations

from pathlib import Path

import yaml
from pytest_bdd import given, parsers, scenarios

from tests.conftest import REPO

scenarios("cluster_lifecycle.feature", "vm_lifecycle.feature", "gpu_sharing.feature")


def _write(tmp_path: Path, config_path: list[str], doc: dict) -> None:
    target = tmp_path / "cluster.yaml"
    target.write_text(yaml.safe_dump(doc))
    config_path.append(str(target))


@given(parsers.parse('the config "{path}" with the Cloud GPU worker set to start automatically'))
def gpu_worker_auto(tmp_path: Path, config_path: list[str], path: str) -> None:
    doc = yaml.safe_load((REPO / path).read_text())
    doc["clusters"]["cloud"]["worker_nodes"]["gpu"][0]["auto_start"] = True
    _write(tmp_path, config_path, doc)


@given(parsers.parse('the config "{path}" with base image "{image}"'))
def with_base_image(tmp_path: Path, config_path: list[str], path: str, image: str) -> None:
    doc = yaml.safe_load((REPO / path).read_text())
    doc["clusters"]["hpc"]["base_image_path"] = image
    _write(tmp_path, config_path, doc)
