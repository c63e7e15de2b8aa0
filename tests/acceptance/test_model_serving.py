"""Steps for features/model_serving.feature: the CLI on libvirt's test driver, the store as
the operator's commands leave it. No API server is asked: the refusal and the dry run come
before one would be."""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios("model_serving.feature")
