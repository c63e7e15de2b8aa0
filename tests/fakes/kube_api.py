"""A Kubernetes API server stand-in for tests: kmock's KubernetesEmulator (objects kept in
memory, created, patched, listed and deleted as the API would) served on loopback from a
thread of its own, so that the synchronous kubernetes client can talk to it.

No API server can run on the machines that test ai-how; the client, its requests and the
adapter are the real ones.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

NODE_RESOURCE = ("", "v1", "nodes")


class EmulatedApiServer:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopping: asyncio.Event | None = None
        self.url = ""
        self.emulator: Any = None
        self.budgeted: set[tuple[str, str]] = set()  # pods a disruption budget keeps: eviction answers 429
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        import kmock

        self.stopping = asyncio.Event()
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
            self.emulator = emulator
            # The emulator knows no subresources: an eviction deletes the pod, as the API's
            # eviction does when no disruption budget stands in the way.
            emulator["post", kmock.subresource("eviction")] << self._evicted
            # Nor a replace (PUT): the object becomes the body, as the API's update does.
            emulator["put"] << self._replaced
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

    def _replaced(self, request: Any) -> Any:
        import kmock

        key = (request.resource, request.namespace, request.name)
        if key not in self.emulator.objects or self.emulator.objects[key].deleted:
            raise kmock.KubernetesError(404, "NotFound", f"{request.name} not found")
        stored = self.emulator.objects[key]
        stored.delete()
        stored.create(request.data)
        return stored.raw

    def declare(self, resource: str) -> None:
        """A custom resource the API serves, e.g. serving.kserve.io/v1beta1/inferenceservices."""
        def add(emulator: Any) -> None:
            emulator.resources[resource] = {}
        self.call(add)

    def bodies(self, plural: str) -> list[dict[str, Any]]:
        """What clients sent to create or replace objects of ``plural``, in order."""
        def collect(emulator: Any) -> list[dict[str, Any]]:
            return [request.data for request in emulator if request.resource is not None
                    and request.resource.plural == plural and str(request.method).lower().endswith(("post", "put"))
                    and isinstance(request.data, dict)]
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
