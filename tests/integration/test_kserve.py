"""Serving through the real KServe adapter and kubernetes client, against kmock's emulator on
loopback (no API server can run here), which keeps the objects: deploy → list → status (the
emulator's object given a Ready condition and a URL) → predict (a model server on loopback
stands behind that URL) → delete. Every request body is checked against the InferenceService
CRD schema in ../shared/schemas; the API's 409 and 403 are one line each."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jsonschema
import pytest

from ai_how.adapters.kserve.client import KserveServing
from ai_how.app.bootstrap import bootstrap
from ai_how.app.config.loader import load_config
from ai_how.app.config.validation import validate_config
from ai_how.app.errors import InfrastructureError
from ai_how.app.serving.manifests import model_spec
from ai_how.app.serving.models import model_defaults
from ai_how.app.serving.predict import predict
from ai_how.domain.cluster import Cluster
from ai_how.domain.commands import DeleteModel, DeployModel, ObserveModel
from ai_how.domain.errors import GpusNotAvailable
from ai_how.domain.gpu import Gpu
from ai_how.domain.ids import service_id
from ai_how.domain.vm import Vm
from tests.conftest import KSERVE_SCHEMA, REPO, SHARED_KSERVE_SCHEMA
from tests.fakes.kube_api import emulated_api_server

SCHEMA = json.loads(KSERVE_SCHEMA.read_text())
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://192.168.200.10:6443'}}]
users: [{name: admin, user: {token: t0k3n}}]
contexts: [{name: admin, context: {cluster: c, user: admin}}]
current-context: admin
"""


class ModelServer(BaseHTTPRequestHandler):
    """A predictor as KServe's V1 protocol answers: the instances back, one prediction each."""

    seen: list[tuple[str, str, dict]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ModelServer.seen.append((self.path, self.headers["Host"], body))
        answer = json.dumps({"predictions": [1 for _ in body.get("instances", [])]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def serving(tmp_path: Path):
    """A Cloud cluster recorded as deployed, its GPU worker running and holding the RTX 4090."""
    with emulated_api_server() as api:
        api.declare("serving.kserve.io/v1beta1/inferenceservices")
        bus = bootstrap(tmp_path / "state", hypervisor=object(), env={}, serving=KserveServing(server=api.url))
        config = load_config(REPO / "examples" / "multi-gpu-clusters.yaml")
        planned = next(c for c in validate_config(config).clusters if c.kind == "cloud")
        cluster = Cluster.provision(planned.plan)
        cluster.mark_started()
        vms = [Vm.define(vm.name, cluster.name, vm.role, vm.spec) for vm in planned.plan.vms]
        for vm in vms:
            vm.request_start()
            vm.mark_started()
        gpu = Gpu.register(planned.plan.gpus[0])
        gpu.lease("cloud-cluster-gpu-worker-01")
        kubeconfig = tmp_path / "admin.conf"
        kubeconfig.write_text(KUBECONFIG)
        cluster.start_kubernetes_deploy("r1", "p", "d", "c", "2.29.0", "1.33.5", cluster.vms, [], {"settings": {}})
        cluster.mark_kubernetes_deployed("r1", "1.33.5", cluster.vms, str(kubeconfig), 1.0, {})
        bus.store.save(cluster, *vms, gpu)
        bus.store.collect_new_events()
        defaults = model_defaults(planned.section)
        yield bus, api, defaults, lambda: api.bodies("inferenceservices")
        bus.close()


def _ready(api, name: str, url: str) -> None:
    def mark(emulator) -> None:
        key = next(k for k in emulator.objects if k[0].plural == "inferenceservices" and k[2] == name)
        emulator.objects[key].patch({"status": {"url": url, "conditions": [
            {"type": "PredictorReady", "status": "True"}, {"type": "Ready", "status": "True"}]}})
    api.call(mark)


def test_a_model_is_deployed_listed_served_and_deleted(serving, tmp_path: Path) -> None:
    bus, api, defaults, bodies = serving
    spec = model_spec("s3://models/iris/1", "sklearn", defaults, gpus=1)
    deployed = bus.handle(DeployModel("cloud-cluster", "serving", "iris", spec))
    assert deployed.state == "deployed" and deployed.applied
    adapter = bus.dependencies["serving"]
    kubeconfig = tmp_path / "admin.conf"
    listed = adapter.list(kubeconfig, "serving")
    assert [o["metadata"]["name"] for o in listed] == ["iris"]
    predictor = listed[0]["spec"]["predictor"]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]

    # A second deploy of the name is applied over it: one request each, ai-how the field manager.
    bigger = model_spec("s3://models/iris/2", "sklearn", defaults, gpus=1, max_replicas=3)
    bus.handle(DeployModel("cloud-cluster", "serving", "iris", bigger))
    assert adapter.get(kubeconfig, "serving", "iris")["spec"]["predictor"]["model"]["storageUri"] == \
        "s3://models/iris/2"
    assert len(bodies()) == 2
    assert [(plural, query.get("fieldManager"), query.get("force")) for plural, query, _ in api.applied] == \
        [("inferenceservices", "ai-how", "true")] * 2
    validator = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)
    for body in bodies():
        validator.validate(body)

    server = HTTPServer(("127.0.0.1", 0), ModelServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # KServe's URL names the service; the request goes to the ingress, which routes by Host.
        url = "http://iris.serving.example.com"
        ingress = f"http://127.0.0.1:{server.server_port}"
        _ready(api, "iris", url)
        api.add_pod("serving", "iris-predictor-00001-abc", "cloud-cluster-gpu-worker-01",
                    labels={"serving.kserve.io/inferenceservice": "iris"})
        api.add_pod("serving", "other-predictor", "cloud-cluster-cpu-worker-01",
                    labels={"serving.kserve.io/inferenceservice": "other"})
        again = adapter.apply(kubeconfig, bodies()[-1])  # applied again: what the server owns stays
        assert again["status"]["url"] == url and again["spec"] == bodies()[-1]["spec"]
        observed = bus.handle(ObserveModel("serving", "iris"))
        assert (observed.state, observed.url, observed.nodes) == ("ready", url, ["cloud-cluster-gpu-worker-01"])
        instances = {"instances": [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3]]}
        predict(url, "iris", json.dumps(instances), ingress=ingress)
        assert ModelServer.seen[-1] == ("/v1/models/iris:predict", "iris.serving.example.com", instances)
    finally:
        server.shutdown()

    from ai_how.app.readside.queries import service_rows

    rows = service_rows(bus.dependencies["live_topology"].catch_up(), "cloud-cluster")
    assert [(r["name"], r["state"], r["spec"]["max_replicas"]) for r in rows] == [("iris", "ready", 3)]
    assert rows[0]["placement"] == [{"node": "cloud-cluster-gpu-worker-01", "gpus": ["0000:01:00.0"]}]
    from ai_how.app.readside.topology import topology_tree

    tree = topology_tree(bus.dependencies["live_topology"].catch_up())
    assert [(s["name"], s["state"], s["gpus"]) for s in tree["clusters"][0]["services"]] == [("iris", "ready", 1)]
    deleted = bus.handle(DeleteModel("serving", "iris"))
    assert deleted.state == "deleted" and adapter.list(kubeconfig, "serving") == []
    types = [e.event_type for e in bus.store.read_log() if e.aggregate_id == service_id("serving", "iris")]
    assert types == ["InferenceServiceDeployed", "InferenceServiceRedeployed", "InferenceServiceReady",
                     "InferenceServiceDeleted"]


@pytest.mark.skipif(not SHARED_KSERVE_SCHEMA.exists(), reason="no shared design folder beside this checkout")
def test_the_repository_s_schema_is_the_shared_one() -> None:
    assert KSERVE_SCHEMA.read_bytes() == SHARED_KSERVE_SCHEMA.read_bytes()


def test_a_failed_service_is_recorded_with_its_reason(serving) -> None:
    bus, api, defaults, _ = serving
    bus.handle(DeployModel("cloud-cluster", "default", "broken", model_spec("s3://m/x", "onnx", defaults)))

    def fail(emulator) -> None:
        key = next(k for k in emulator.objects if k[0].plural == "inferenceservices" and k[2] == "broken")
        emulator.objects[key].patch({"status": {"conditions": [
            {"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": "model download failed"}]}})
    api.call(fail)
    observed = bus.handle(ObserveModel("default", "broken"))
    assert (observed.state, observed.reason) == ("failed", "RevisionFailed: model download failed")


def test_two_gpus_are_refused_when_the_workers_hold_one(serving) -> None:
    bus, _, defaults, bodies = serving
    with pytest.raises(GpusNotAvailable, match=r"--gpu 2: the running GPU workers of cloud-cluster hold 1 GPU "
                                               r"\(0000:01:00.0\)"):
        bus.handle(DeployModel("cloud-cluster", "default", "big", model_spec("hf://m/x", "huggingface", defaults,
                                                                            gpus=2)))
    assert bodies() == []


def test_the_api_s_refusal_is_one_line(serving) -> None:
    import kmock

    bus, api, defaults, _ = serving

    def forbidden() -> None:
        raise kmock.KubernetesError(403, "Forbidden", "inferenceservices is forbidden for this user")
    api.call(lambda emulator: emulator["patch", kmock.resource("serving.kserve.io", "v1beta1", "inferenceservices")]
             << forbidden)
    with pytest.raises(InfrastructureError, match="answered 403 to the InferenceService default/denied: the "
                                                  "kubeconfig's user may not do this"):
        bus.handle(DeployModel("cloud-cluster", "default", "denied", model_spec("s3://m/x", "sklearn", defaults)))


@pytest.mark.mlflow
def test_a_pushed_version_is_served_and_recorded_with_what_mlflow_says_of_it(serving, mlflow_uri: str, s3_uri: str,
                                                                             tmp_path: Path) -> None:
    """A real MLflow server and S3 store on loopback: push, resolve by alias, apply, record."""
    import boto3

    from ai_how.app.ports import S3Access
    from ai_how.app.serving.push import push_model
    from ai_how.app.serving.registry import resolve

    bus, _, defaults, bodies = serving
    boto3.client("s3", endpoint_url=s3_uri, aws_access_key_id="k", aws_secret_access_key="s",
                 region_name="us-east-1").create_bucket(Bucket="served-models")
    model = tmp_path / "llm"
    model.mkdir()
    (model / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    (model / "model.safetensors").write_bytes(bytes(range(256)) * 4096)
    deps = bus.dependencies
    pushed = push_model(model, "llm-kserve", "staging", "served-models", S3Access(s3_uri, "k", "s"), mlflow_uri,
                        deps["objects"], deps["registry"])
    uri, facts = resolve(deps["registry"], mlflow_uri, "llm-kserve@staging")
    assert uri == pushed.source and facts["version"] == pushed.model.version
    spec = model_spec(uri, "huggingface", defaults, gpus=1, mlflow=facts)
    bus.handle(DeployModel("cloud-cluster", "default", "llm", spec))
    [body] = bodies()
    print(f"the InferenceService applied:\n{json.dumps(body, indent=2)}")
    jsonschema.validators.validator_for(SCHEMA)(SCHEMA).validate(body)
    assert body["metadata"]["annotations"]["ai-how/mlflow-model"] == "llm-kserve"
    assert body["spec"]["predictor"]["model"]["storageUri"] == uri
    [deployed] = [e for e in bus.store.read_log() if e.event_type == "InferenceServiceDeployed"]
    assert deployed.payload["spec"]["mlflow"] == {"tracking_uri": mlflow_uri, "name": "llm-kserve", "version": pushed.model.version,
                        "run_id": None, "alias": "staging", "source": pushed.source}
