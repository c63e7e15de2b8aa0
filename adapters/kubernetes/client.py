"""The ``KubernetesApi`` port on the kubernetes client.

Each call opens a client from the cluster's admin kubeconfig. ``server`` replaces the
kubeconfig's server (tests point it at an emulated API server); users never need it.
API errors become one line: what was asked, the status and the API's own reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ai_how.app.errors import InfrastructureError
from ai_how.app.ports import KubernetesApi, NodeState

INSTALL = "pip install 'kubernetes>=30' (or reinstall ai-how: pip install -e .)"
MEANING = {401: "the kubeconfig's credentials were refused", 403: "the kubeconfig's user may not do this",
           404: "no such object", 409: "it changed meanwhile (a conflict)", 429: "refused for now (a disruption "
           "budget or rate limit)"}
OWN_TAINTS = ("node.kubernetes.io/", "node-role.kubernetes.io/", "node.cloudprovider.kubernetes.io/")


def _taint_text(taint: Any) -> str:
    value = f"={taint.value}" if taint.value else ""
    return f"{taint.key}{value}:{taint.effect}"


def _taint(text: str) -> dict[str, str]:
    key_value, _, effect = text.rpartition(":")
    key, _, value = key_value.partition("=")
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


def _pinned(base: type, server: str | None) -> type:
    """The client's Configuration, its server fixed to ``server`` when given: the kubeconfig
    loader sets the kubeconfig's server again whenever it refreshes the credentials."""
    if server is None:
        return base

    class Pinned(base):  # type: ignore[misc, valid-type]
        @property
        def host(self) -> str:
            return server

        @host.setter
        def host(self, value: str) -> None:
            pass

    return Pinned


class KubernetesClientApi(KubernetesApi):
    def __init__(self, server: str | None = None, timeout_s: float = 20.0) -> None:
        self.server = server
        self.timeout_s = timeout_s

    def _core(self, kubeconfig: Path, what: str) -> Any:
        return self._connected(kubeconfig, what, "CoreV1Api")

    @contextmanager
    def _connected(self, kubeconfig: Path, what: str, api: str) -> Iterator[Any]:
        """One of the client's API classes on the kubeconfig's cluster; its errors as one line."""
        try:
            import kubernetes
            from kubernetes.client.exceptions import ApiException
        except ImportError:
            raise InfrastructureError(f"the kubernetes client is not installed; install it with: {INSTALL}") from None
        import urllib3

        if not kubeconfig.exists():
            raise InfrastructureError(f"no kubeconfig at {kubeconfig}: deploy the cluster first "
                                      "(ai-how cloud deploy CONFIG)")
        configuration = _pinned(kubernetes.client.Configuration, self.server)()
        try:
            kubernetes.config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration,
                                               persist_config=False)
        except (kubernetes.config.ConfigException, ValueError, OSError) as exc:
            raise InfrastructureError(f"cannot read the kubeconfig {kubeconfig}: {exc}") from None
        configuration.retries = False
        host = configuration.host
        client = kubernetes.client.ApiClient(configuration)
        try:
            yield getattr(kubernetes.client, api)(client)
        except ApiException as exc:
            if not exc.status:  # no answer at all: the connection or TLS failed
                said = " ".join(str(exc.reason or "").split())[:200]
                raise InfrastructureError(f"cannot reach the API server at {host} ({what}): {said}") from None
            reason = MEANING.get(exc.status, " ".join(str(exc.reason or "").split()))
            raise InfrastructureError(f"the API server at {host} answered {exc.status} to {what}: {reason}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise InfrastructureError(f"cannot reach the API server at {host} ({what}): "
                                      f"{type(exc).__name__}; is the control plane running?") from None
        finally:
            client.close()

    def _timeout(self) -> dict[str, Any]:
        return {"_request_timeout": self.timeout_s}

    def nodes(self, kubeconfig: Path) -> list[NodeState]:
        with self._core(kubeconfig, "a list of the nodes") as core:
            found = core.list_node(**self._timeout()).items
        states = []
        for node in found:
            conditions = (node.status.conditions if node.status else None) or []
            ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
            allocatable = (node.status.allocatable if node.status else None) or {}
            states.append(NodeState(node.metadata.name, ready, bool(node.spec and node.spec.unschedulable),
                                    int(allocatable.get("nvidia.com/gpu", 0) or 0), dict(node.metadata.labels or {}),
                                    tuple(_taint_text(t) for t in (node.spec.taints if node.spec else None) or [])))
        return sorted(states, key=lambda s: s.name)

    def label_and_taint(self, kubeconfig: Path, node: str, labels: dict[str, str], taints: list[str]) -> None:
        with self._core(kubeconfig, f"labels and taints of node {node}") as core:
            current = core.read_node(node, **self._timeout())
            kept = [{"key": t.key, "effect": t.effect, **({"value": t.value} if t.value else {})}
                    for t in ((current.spec.taints if current.spec else None) or []) if t.key.startswith(OWN_TAINTS)]
            body = {"metadata": {"labels": labels}, "spec": {"taints": kept + [_taint(t) for t in taints]}}
            core.patch_node(node, body, **self._timeout())

    def cordon(self, kubeconfig: Path, node: str, unschedulable: bool = True) -> None:
        with self._core(kubeconfig, f"{'cordon' if unschedulable else 'uncordon'} of node {node}") as core:
            core.patch_node(node, {"spec": {"unschedulable": unschedulable}}, **self._timeout())

    @staticmethod
    def _movable(pod: Any, node: str) -> bool:
        if pod.spec is None or pod.spec.node_name != node:
            return False  # the field selector is the API's; checked again here
        if (pod.status and pod.status.phase) in ("Succeeded", "Failed"):
            return False
        if "kubernetes.io/config.mirror" in (pod.metadata.annotations or {}):
            return False  # a static pod: the kubelet's own
        return not any(o.kind == "DaemonSet" for o in pod.metadata.owner_references or [])

    def _pods(self, core: Any, node: str) -> list[Any]:
        listed = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}", **self._timeout()).items
        return [p for p in listed if self._movable(p, node)]

    def pods_on(self, kubeconfig: Path, node: str) -> list[str]:
        with self._core(kubeconfig, f"the pods on node {node}") as core:
            return sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in self._pods(core, node))

    def evict(self, kubeconfig: Path, node: str) -> list[str]:
        from kubernetes.client.exceptions import ApiException

        still: list[str] = []
        with self._core(kubeconfig, f"the eviction of the pods on node {node}") as core:
            for pod in self._pods(core, node):
                name, namespace = pod.metadata.name, pod.metadata.namespace
                eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                            "metadata": {"name": name, "namespace": namespace}}
                try:
                    core.create_namespaced_pod_eviction(name, namespace, eviction, **self._timeout())
                except ApiException as exc:
                    if exc.status == 404:
                        continue  # gone already
                    if exc.status != 429:  # 429: a disruption budget says not yet; asked again later
                        raise
                    still.append(f"{namespace}/{name}")
        return still

