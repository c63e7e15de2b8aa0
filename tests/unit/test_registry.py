"""MLflow references, the URI KServe reads a registered version from, what ``model push``
sends and where, and the SSH stanza ``hpc oumi --write`` keeps: without any server."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from ai_how.adapters.s3.store import PART, expected_etag
from ai_how.app.config.loader import load_config
from ai_how.app.deploy.slurm.oumi import stanza, write_stanza
from ai_how.app.errors import UsageError
from ai_how.app.ports import KeyStore, RegisteredModel
from ai_how.app.serving.manifests import inference_service, model_spec
from ai_how.app.serving.push import local_files, s3_access, tree_digest
from ai_how.app.serving.registry import artifacts_bucket, parse_ref, storage_uri, tracking_uri
from tests.conftest import REPO

OUMI_CLOUD = load_config(REPO / "tests" / "data" / "oumi-plan-cloud.yaml").clusters.cloud


@pytest.mark.parametrize(("ref", "parsed"), [("llm@staging", ("llm", "staging", None)),
                                             ("llm/12", ("llm", None, "12")),
                                             ("team.llm-v2@champion_1", ("team.llm-v2", "champion_1", None))])
def test_a_reference_names_a_model_and_an_alias_or_a_version(ref: str, parsed: tuple) -> None:
    assert parse_ref(ref) == parsed


@pytest.mark.parametrize("ref", ["llm", "llm@", "llm/0", "llm/v2", "@staging", "llm@a/b", "a/b/3"])
def test_anything_else_is_refused_with_the_two_forms(ref: str) -> None:
    with pytest.raises(UsageError, match=r"give MODEL@ALIAS \(e.g. llm@staging\) or MODEL/VERSION"):
        parse_ref(ref)


def test_the_tracking_uri_is_the_flag_then_the_environment_then_the_config_s_ingress() -> None:
    env = {"MLFLOW_TRACKING_URI": "http://env:5000"}
    assert tracking_uri("http://flag:5000", env, OUMI_CLOUD) == "http://flag:5000"
    assert tracking_uri(None, env, OUMI_CLOUD) == "http://env:5000"
    assert tracking_uri(None, {}, OUMI_CLOUD) == "http://mlflow.local"
    with pytest.raises(UsageError, match="no MLflow tracking URI: give --mlflow-uri"):
        tracking_uri(None, {}, None)


def _version(uri: str) -> RegisteredModel:
    return RegisteredModel("llm", "3", uri, uri, "r1")


def test_a_version_served_by_mlflow_is_read_from_its_artifact_bucket() -> None:
    assert artifacts_bucket(OUMI_CLOUD) == "mlflow-artifacts"
    assert storage_uri(_version("mlflow-artifacts:/4/r1/artifacts/model"), "mlflow-artifacts") == \
        "s3://mlflow-artifacts/4/r1/artifacts/model"
    assert storage_uri(_version("mlflow-artifacts://mlflow:5000/4/r1/artifacts/model"), "b") == \
        "s3://b/4/r1/artifacts/model"
    assert storage_uri(_version("s3://models/llm/abc"), None) == "s3://models/llm/abc"


@pytest.mark.parametrize("uri", ["file:///srv/mlruns/4/r1/artifacts/model", "/srv/mlruns/model",
                                 "mlflow-artifacts:/4/r1/artifacts/model"])
def test_a_version_the_cluster_cannot_read_is_refused_with_what_to_do(uri: str) -> None:
    with pytest.raises(UsageError, match=rf"version 3 of llm keeps its files at {uri}, which the cluster cannot read: "
                                         r"push the model with 'ai-how model push PATH --name llm'"):
        storage_uri(_version(uri), None)


def test_the_served_version_is_named_on_the_inference_service() -> None:
    spec = model_spec("s3://models/llm/abc", "huggingface", {}, mlflow={"name": "llm", "version": "3",
                                                                        "run_id": "r1", "alias": "staging"},
                      service_account="kserve-s3")
    manifest = inference_service("default", "llm", spec)
    assert manifest["metadata"]["annotations"] == {"ai-how/mlflow-model": "llm", "ai-how/mlflow-version": "3",
                                                   "ai-how/mlflow-run": "r1"}
    assert manifest["spec"]["predictor"]["serviceAccountName"] == "kserve-s3"


def test_a_push_sends_plain_files_named_by_their_content(tmp_path: Path) -> None:
    (tmp_path / "m" / "tokenizer").mkdir(parents=True)
    (tmp_path / "m" / "config.json").write_text("{}")
    (tmp_path / "m" / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    files = local_files(tmp_path / "m")
    assert [f.key for f in files] == ["config.json", "tokenizer/vocab.txt"]
    assert files[1].sha256 == hashlib.sha256(b"a\nb\n").hexdigest()
    before = tree_digest(files)
    (tmp_path / "m" / "config.json").write_text("{ }")
    assert tree_digest(local_files(tmp_path / "m")) != before
    (tmp_path / "m" / "link").symlink_to(tmp_path / "m" / "config.json")
    with pytest.raises(UsageError, match="a symbolic link; push a directory of plain files"):
        local_files(tmp_path / "m")
    with pytest.raises(UsageError, match="no such file or directory"):
        local_files(tmp_path / "none")


def test_s3_credentials_come_from_the_environment_or_the_minio_add_on_s_secret(tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "hunter2-secret"}
    access = s3_access("http://s3:9000", env, None, None, None)
    assert (access.endpoint, access.access_key, access.secret_key) == ("http://s3:9000", "k", "hunter2-secret")
    assert "hunter2" not in repr(access)

    class Keys(KeyStore):
        def cluster_secret(self, cluster: str, kind: str, value: str | None = None) -> Path:
            path = tmp_path / cluster / kind
            path.parent.mkdir(exist_ok=True)
            path.write_text(value or "generated-password")
            return path

    from_config = s3_access(None, {"AWS_ENDPOINT_URL": "http://minio:9000"}, Keys(), "cloud-cluster", OUMI_CLOUD)
    assert (from_config.endpoint, from_config.access_key) == ("http://minio:9000", "admin")
    with pytest.raises(UsageError, match="no S3 endpoint: give --s3-endpoint"):
        s3_access(None, {}, None, None, None)
    with pytest.raises(UsageError, match="no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        s3_access("http://s3:9000", {}, None, None, None)


def test_the_expected_etag_is_s3_s_md5_of_the_body_or_of_its_parts(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    small.write_bytes(b"hello")
    assert expected_etag(small, 5) == hashlib.md5(b"hello").hexdigest()
    data = bytes(range(256)) * (PART * 2 // 256) + b"the last part"
    large.write_bytes(data)
    parts = [data[:PART], data[PART:2 * PART], data[2 * PART:]]
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    assert expected_etag(large, len(data)) == f"{hashlib.md5(joined).hexdigest()}-3"


def test_the_oumi_stanza_is_written_once_first_in_a_private_file_and_replaced_in_place(tmp_path: Path) -> None:
    config = tmp_path / "ssh" / "config"
    text = stanza("hpc-cluster-controller", "192.168.100.10", "aihow", Path("/s/keys/platform_ed25519"),
                  Path("/s/keys/known_hosts"))
    assert write_stanza(config, "hpc-cluster", text) is True
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert write_stanza(config, "hpc-cluster", text) is False
    config.write_text(config.read_text() + "\nHost *\n  User someone\n")
    moved = text.replace("192.168.100.10", "192.168.100.20")
    assert write_stanza(config, "hpc-cluster", moved) is True
    written = config.read_text()
    assert written.count("Host hpc-cluster-controller") == 1 and "192.168.100.20" in written
    assert written.index("Host hpc-cluster-controller") < written.index("Host *")
    assert "UserKnownHostsFile /s/keys/known_hosts\n  StrictHostKeyChecking yes" in written
