"""Steps for features/model_serving.feature: the CLI on libvirt's test driver, the store as
the operator's commands leave it. No API server is asked: the refusal and the dry run come
before one would be, and the one that does not answer listens nowhere on loopback."""

from __future__ import annotations

from pathlib import Path

from pytest_bdd import given, parsers, scenarios

scenarios("model_serving.feature")

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: '{server}', insecure-skip-tls-verify: true}}}}]
users: [{{name: admin, user: {{token: a-token}}}}]
contexts: [{{name: admin, context: {{cluster: c, user: admin}}}}]
current-context: admin
"""


@given(parsers.parse("the API server of {cluster}, at {server}, does not answer"))
def silent_api_server(state_dir: Path, cluster: str, server: str) -> None:
    (state_dir / "kube" / f"{cluster}.conf").write_text(KUBECONFIG.format(server=server))
