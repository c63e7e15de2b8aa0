"""The ``ModelServing`` port: InferenceServices (serving.kserve.io/v1beta1) through the
kubernetes client's CustomObjectsApi (created and changed by server-side apply, ai-how the
field manager), with the Kubernetes adapter's connection and its one-line errors (409:
changed meanwhile; 403: the kubeconfig's user may not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_how.adapters.kubernetes.client import KubernetesClientApi
from ai_how.app.ports import ModelServing

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
FIELD_MANAGER, APPLY = "ai-how", "application/apply-patch+yaml"


class KserveServing(KubernetesClientApi, ModelServing):
    def _custom(self, kubeconfig: Path, what: str) -> Any:
        return self._connected(kubeconfig, what, "CustomObjectsApi")

    def apply(self, kubeconfig: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply, as ``kubectl apply --server-side --force-conflicts``: one request
        that creates the service or makes ai-how's fields what the manifest says."""
        namespace, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        with self._custom(kubeconfig, f"the InferenceService {namespace}/{name}") as api:
            applied: dict[str, Any] = api.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, manifest, field_manager=FIELD_MANAGER, force=True,
                _content_type=APPLY, **self._timeout())
            return applied

    def get(self, kubeconfig: Path, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        with self._custom(kubeconfig, f"the InferenceService {namespace}/{name}") as api:
            try:
                return api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, **self._timeout())
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise

    def list(self, kubeconfig: Path, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._custom(kubeconfig, "the InferenceServices") as api:
            if namespace is None:
                found = api.list_cluster_custom_object(GROUP, VERSION, PLURAL, **self._timeout())
            else:
                found = api.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, **self._timeout())
        return sorted(found.get("items", []), key=lambda o: (o["metadata"].get("namespace", ""),
                                                              o["metadata"]["name"]))

    def delete(self, kubeconfig: Path, namespace: str, name: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        with self._custom(kubeconfig, f"the deletion of InferenceService {namespace}/{name}") as api:
            try:
                api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, **self._timeout())
            except ApiException as exc:
                if exc.status == 404:
                    return False
                raise
        return True

    def nodes_of(self, kubeconfig: Path, namespace: str, name: str) -> list[str]:
        with self._core(kubeconfig, f"the pods of InferenceService {namespace}/{name}") as core:
            pods = core.list_namespaced_pod(namespace, label_selector=f"serving.kserve.io/inferenceservice={name}",
                                            **self._timeout()).items
        labelled = [p for p in pods if (p.metadata.labels or {}).get("serving.kserve.io/inferenceservice") == name]
        return sorted({p.spec.node_name for p in labelled if p.spec is not None and p.spec.node_name})
