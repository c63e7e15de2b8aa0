"""Steps for features/model_serving.feature: the CLI on libvirt's test driver, the store as
the operator's commands leave it. No API server is asked: the refusal and the dry run come
before one would be."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_bdd import given, parsers, scenarios, then

from ai_how.domain.ids import cluster_id
from tests.conftest import opened

scenarios("model_serving.feature")


@given(parsers.parse("Kubernetes is recorded as deployed on {cluster}"))
def kubernetes_recorded(state_dir: Path, cluster: str) -> None:
    kubeconfig = state_dir / "kube" / f"{cluster}.conf"
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n")
    with opened(state_dir) as bus:
        found = bus.store.get(cluster_id(cluster))
        running = [vm for vm in found.vms if not vm.endswith("gpu-worker-01")]
        found.start_kubernetes_deploy("r1", "playbooks/deploy-cloud-cluster.yml", "d", "c", "2.29.0", "1.33.5",
                                      running, [], {"settings": {}})
        found.mark_kubernetes_deployed("r1", "1.33.5", running, str(kubeconfig), 1.0, {})
        bus.store.save(found)


@then(parsers.parse('"ai-how model list --json" lists no inference service'))
def no_service(run_cli) -> None:
    result = run_cli("model", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
