"""The InferenceService aggregate's rules and the manifest ``model deploy`` applies, without
any cluster."""

from __future__ import annotations

import pytest

from ai_how.app.config.loader import load_config
from ai_how.app.errors import UsageError
from ai_how.app.serving.manifests import check_name, inference_service, model_spec
from ai_how.app.serving.models import model_defaults, readiness
from ai_how.domain.errors import InvalidTransition
from ai_how.domain.inference import InferenceService, ServiceState
from tests.conftest import REPO


def test_the_oumi_plan_s_serving_defaults_fill_what_the_command_leaves_out() -> None:
    section = load_config(REPO / "tests" / "data" / "oumi-plan-cloud.yaml").clusters.cloud
    defaults = model_defaults(section)
    spec = model_spec("s3://models/llm", "huggingface", defaults, gpus=1, memory="24Gi")
    assert (spec["min_replicas"], spec["max_replicas"], spec["target_concurrency"]) == (1, 5, 10)
    assert spec["resources"]["requests"] == {"cpu": "1", "memory": "24Gi", "nvidia.com/gpu": "1"}
    assert spec["resources"]["limits"] == {"cpu": "4", "memory": "24Gi", "nvidia.com/gpu": "1"}
    cpu_only = model_spec("s3://models/iris", "sklearn", defaults)
    assert "nvidia.com/gpu" not in cpu_only["resources"]["limits"]  # the config's GPU default is not forced on


def test_a_gpu_service_goes_to_the_gpu_workers_and_tolerates_their_taint() -> None:
    spec = model_spec("s3://m/x", "sklearn", {}, gpus=2)
    predictor = inference_service("serving", "x", spec)["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert predictor["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert "nodeSelector" not in inference_service("serving", "y", model_spec("s3://m/y", "sklearn", {}))["spec"][
        "predictor"]


@pytest.mark.parametrize("name", ["Upper", "1st", "a_b", "trailing-", "x" * 64])
def test_names_are_dns_1035_labels(name: str) -> None:
    with pytest.raises(UsageError, match="must be a DNS-1035 label"):
        check_name("the name", name)


def test_replicas_must_make_sense() -> None:
    with pytest.raises(UsageError, match="--max-replicas 1 is below --min-replicas 2"):
        model_spec("s3://m/x", "sklearn", {}, min_replicas=2, max_replicas=1)


def test_readiness_is_read_from_the_ready_condition() -> None:
    assert readiness(None)[0] == "deleted"
    assert readiness({"status": {}})[0] == "deployed"
    assert readiness({"status": {"url": "http://x", "conditions": [{"type": "Ready", "status": "True"}]}}) == \
        ("ready", "http://x", None)
    waiting = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "RevisionMissing"}]}}
    assert readiness(waiting)[0] == "deployed"  # still coming up
    failed = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "RevisionFailed",
                                         "message": "OOMKilled"}]}}
    assert readiness(failed) == ("failed", None, "RevisionFailed: OOMKilled")


def test_a_deleted_service_records_nothing_more_until_deployed_again() -> None:
    service = InferenceService(namespace="n", name="m", cluster="c", spec={}, manifest_digest="d")
    service.observe_ready("http://m", ["w1"])
    service.observe_ready("http://m", ["w1"])  # unchanged: no second event
    service.delete()
    with pytest.raises(InvalidTransition, match="it was deleted"):
        service.observe_failed("x")
    service.redeploy("c", {"format": "onnx"}, "e")
    assert service.state == ServiceState.DEPLOYED
    names = [type(e).__name__ for e in service.collect_events()]
    assert names == ["InferenceServiceDeployed", "InferenceServiceReady", "InferenceServiceDeleted",
                     "InferenceServiceRedeployed"]
