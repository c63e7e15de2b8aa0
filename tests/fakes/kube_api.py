"""A Kubernetes API server stand-in for tests: kmock's KubernetesEmulator (objects kept in
memory, created, patched, listed and deleted as the API would) served on loopback from a
thread of its own, so that the synchronous kubernetes client can talk to it.

No API server can run on the machines that test ai-how; the client, its requests and the
adapter are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NODE_RESOURCE = ("", "v1", "nodes")
APPLY = "application/apply-patch+yaml"


class EmulatedApiServer:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopping: asyncio.Event | None = None
        self.url = ""
        self.emulator: Any = None
        self.budgeted: set[tuple[str, str]] = set()  # pods a disruption budget keeps: eviction answers 429
        self.applied: list[tuple[str, dict[str, str], dict[str, Any]]] = []  # (plural, query, body) applied
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        import kmock

        self.stopping = asyncio.Event()
        async with _applying_emulator(self.applied) as emulator, kmock.Server(emulator) as server:
            self.emulator = emulator
            # The emulator knows no subresources: an eviction deletes the pod, as the API's
            # eviction does when no disruption budget stands in the way.
            emulator["post", kmock.subresource("eviction")] << self._evicted
            # Server-side apply is taught to it: _applying_emulator.
            self.url = str(server.url).rstrip("/")
            self.ready.set()
            await self.stopping.wait()

    def start(self) -> EmulatedApiServer:
        self.thread.start()
        if not self.ready.wait(20):
            raise RuntimeError("the emulated API server did not start")
        return self

    def stop(self) -> None:
        if self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)

    def _evicted(self, request: Any) -> Any:
        import kmock

        if (request.namespace, request.name) in self.budgeted:
            raise kmock.KubernetesError(429, "TooManyRequests",
                                        "Cannot evict pod as it would violate the pod's disruption budget.")
        for key in [k for k in self.emulator.objects if k[0].plural == "pods" and k[1:] == (request.namespace,
                                                                                              request.name)]:
            self.emulator.objects[key].delete()
        return {"kind": "Status", "apiVersion": "v1", "status": "Success"}

    def declare(self, resource: str) -> None:
        """A custom resource the API serves, e.g. serving.kserve.io/v1beta1/inferenceservices."""
        def add(emulator: Any) -> None:
            emulator.resources[resource] = {}
        self.call(add)

    def bodies(self, plural: str) -> list[dict[str, Any]]:
        """What clients sent to create or apply objects of ``plural``, in order."""
        def collect(emulator: Any) -> list[dict[str, Any]]:
            return [request.data for request in emulator if request.resource is not None
                    and request.resource.plural == plural and isinstance(request.data, dict)
                    and (str(request.method).lower().endswith("post")
                         or request.headers.get("Content-Type") == APPLY)]
        return self.call(collect)

    def client(self) -> Any:
        import kubernetes

        configuration = kubernetes.client.Configuration()
        configuration.host = self.url
        return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))

    def add_pod(self, namespace: str, name: str, node: str, owner: str | None = None,
                labels: dict[str, str] | None = None) -> None:
        """A running pod on ``node``; ``owner`` ``DaemonSet`` for one a drain leaves alone."""
        meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
        if owner:
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner, "name": f"{name}-owner",
                                        "uid": "0", "controller": True}]
        self.client().create_namespaced_pod(namespace, {
            "apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": {"phase": "Running"},
            "spec": {"nodeName": node, "containers": [{"name": "main", "image": "registry.local/serve:1"}]}})

    def call(self, fn: Any) -> Any:
        """Run ``fn(emulator)`` on the server's loop (its objects are not thread-safe)."""
        async def run() -> Any:
            return fn(self.emulator)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)


def _applying_emulator(applied: list[tuple[str, dict[str, str], dict[str, Any]]]) -> Any:
    """kmock's emulator, which treats every PATCH as a merge into an object that exists, taught
    server-side apply with one field manager: an absent object is created; a present one
    becomes the applied body, keeping what the server owns (its status). Each apply is kept in
    ``applied``. (Its merge of the same body afterwards changes nothing.)"""
    import aiohttp.web
    import kmock

    class Applying(kmock.KubernetesEmulator):
        async def _handle(self, request: Any) -> Any:
            if str(request.method).endswith("PATCH") and request.headers.get("Content-Type") == APPLY:
                if not request.params.get("fieldManager"):  # as the API answers it
                    return aiohttp.web.json_response({"kind": "Status", "status": "Failure", "code": 400,
                                                      "reason": "BadRequest",
                                                      "message": "fieldManager is required for apply patch"},
                                                     status=400)
                body = request.data if isinstance(request.data, dict) else json.loads(request.text)
                applied.append((request.resource.plural, dict(request.params), body))
                key = (request.resource, request.namespace, request.name)
                async with self._lock:
                    if key not in self._objects:
                        self._objects[key] = body
                    else:
                        stored = self._objects[key]
                        status = None if stored.deleted else stored.raw.get("status")
                        if not stored.deleted:
                            stored.delete()
                        stored.create({**body, **({"status": status} if status else {})})
            return await super()._handle(request)

    return Applying()


@contextmanager
def emulated_api_server() -> Iterator[EmulatedApiServer]:
    server = EmulatedApiServer().start()
    try:
        yield server
    finally:
        server.stop()


def register_node(api: EmulatedApiServer, name: str, ready: bool = True, gpus: int = 0) -> None:
    """The node as its kubelet registers it: Ready (or not), its allocatable GPUs."""
    allocatable = {"cpu": "1", "memory": "900Mi", **({"nvidia.com/gpu": str(gpus)} if gpus else {})}
    api.client().create_node({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name}}, "status": {"allocatable": allocatable, "conditions": [
            {"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady"}]}})
