"""Steps for features/model_registry.feature: a real MLflow tracking server (its registry in
the test PostgreSQL) and an S3-compatible server (moto's), both on loopback and shared by the
session; each scenario registers its own model name. The Cloud cluster runs on libvirt's test
driver, its Kubernetes recorded as deployed: ``--dry-run`` stops before an API server would
be asked (tests/integration/test_kserve.py applies to an emulated one)."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then

from tests.acceptance.conftest import audit
from tests.conftest import REPO
from tests.fakes.s3_proxy import corrupting_proxy

scenarios("model_registry.feature")

S3_SECRET = "s3-secret-" + secrets.token_hex(8)
MODEL_FILES = {"MLmodel": "flavors:\n  sklearn: {pickled_model: model.pkl, sklearn_version: 1.5.2}\n",
               "model.pkl": None, "requirements.txt": "scikit-learn==1.5.2\n"}


def _s3(url: str):
    import boto3

    return boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test",
                        region_name="us-east-1")


def _mlflow(url: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=url, registry_uri=url)


@given("an MLflow tracking server on loopback, its registry in PostgreSQL")
def mlflow_server(mlflow_uri: str, noted: dict[str, str]) -> None:
    noted["mlflow"] = mlflow_uri


@given(parsers.parse('an S3 store on loopback with a bucket "{bucket}"'))
def s3_store(s3_uri: str, noted: dict[str, str], bucket: str, monkeypatch) -> None:
    client = _s3(s3_uri)
    if bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=bucket)
    noted["s3"] = s3_uri
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    for name in ("AWS_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)


@given(parsers.parse('a trained model in "{folder}", to be registered as {{model}}'))
def trained_model(noted: dict[str, str], folder: str) -> None:
    root = Path(folder.replace("{tmp}", noted["tmp"]))
    root.mkdir(parents=True)
    for name, text in MODEL_FILES.items():
        (root / name).write_bytes(text.encode() if text is not None else secrets.token_bytes(64 * 1024))
    noted["model"] = f"iris-{secrets.token_hex(4)}"


@given(parsers.parse('the config "{path}" with MLflow and MinIO enabled'))
def config_with_mlops(tmp_path: Path, config_path: list[str], path: str) -> None:
    doc = yaml.safe_load((REPO / path).read_text())
    doc["clusters"]["cloud"]["mlops"] = {"mlflow": {"enabled": True}, "minio": {"enabled": True},
                                         "postgresql": {"enabled": True}}
    doc["clusters"]["cloud"]["serving"] = {"kserve": {"enabled": True}}
    target = tmp_path / "cluster.yaml"
    target.write_text(yaml.safe_dump(doc))
    config_path.append(str(target))


@pytest.fixture
def proxy_links() -> list:
    return []


@given("the S3 store is reached through a link that changes every upload")
def corrupting_link(noted: dict[str, str], proxy_links: list, request) -> None:
    link = corrupting_proxy(noted["s3"])
    url, changed = link.__enter__()
    request.addfinalizer(lambda: link.__exit__(None, None, None))
    noted["s3-direct"], noted["s3"] = noted["s3"], url
    proxy_links.append(changed)


@given(parsers.parse("a training run logged the model to MLflow's artifact store and registered it as {{model}} "
                     "version 1"))
def logged_by_a_run(noted: dict[str, str]) -> None:
    import mlflow

    mlflow.set_tracking_uri(noted["mlflow"])
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(Path(noted["tmp"]) / "model"), "model")
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", noted["model"])
    assert version.version in (1, "1")


def _objects(noted: dict[str, str], prefix: str) -> list[dict]:
    client = _s3(noted.get("s3-direct", noted["s3"]))
    bucket, _, rest = prefix.replace("{model}", noted["model"]).partition("/")
    return client.list_objects_v2(Bucket=bucket, Prefix=rest).get("Contents", []), client, bucket


@then(parsers.parse('the S3 store holds the model\'s {count:d} files under "{prefix}", each with its SHA-256'))
def stored_files(noted: dict[str, str], count: int, prefix: str) -> None:
    objects, client, bucket = _objects(noted, prefix)
    assert len(objects) == count, objects
    folder = Path(noted["tmp"]) / "model"
    for found in objects:
        name = found["Key"].rsplit("/", 1)[1]
        body = client.get_object(Bucket=bucket, Key=found["Key"])
        data = body["Body"].read()
        assert data == (folder / name).read_bytes()
        assert body["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()


@then(parsers.parse('the S3 store holds nothing under "{prefix}"'))
def nothing_stored(noted: dict[str, str], prefix: str) -> None:
    objects, _, _ = _objects(noted, prefix)
    assert objects == []


@then(parsers.parse("MLflow's alias {alias} of {{model}} is version {version}, its source that folder in the S3 "
                    "store"))
def alias_points(noted: dict[str, str], alias: str, version: str) -> None:
    found = _mlflow(noted["mlflow"]).get_model_version_by_alias(noted["model"], alias)
    assert str(found.version) == version
    objects, _, _ = _objects(noted, "models/{model}/")
    folders = {o["Key"].rsplit("/", 1)[0] for o in objects}
    assert [f"s3://models/{folder}" for folder in folders] == [found.source]


@then("MLflow has no model {model}")
def no_model(noted: dict[str, str]) -> None:
    names = [m.name for m in _mlflow(noted["mlflow"]).search_registered_models(f"name = '{noted['model']}'")]
    assert names == []


@then("no output, event or file of the state directory holds the S3 secret key")
def secret_kept(transcript: list, run_cli, state_dir: Path) -> None:
    log = run_cli("audit", "log", "--json")
    assert log.exit_code == 0 and "InferenceService" not in log.stdout and "ClusterProvisioned" in log.stdout
    outputs = [r.stdout + r.stderr for r in [*transcript, log]]
    assert outputs and not [o for o in outputs if S3_SECRET in o]
    files = [p for p in state_dir.rglob("*") if p.is_file()]
    assert files and not [p for p in files if S3_SECRET.encode() in p.read_bytes()]


@then(parsers.parse("the log records both pushes of {{model}}: version 1 with its files' digest, new, then found "
                    "again"))
def pushes_recorded(run_cli, noted) -> None:
    entries = [e for e in audit(run_cli) if e["aggregate"] == f"model {noted['model']}"]
    assert [e["type"] for e in entries] == ["ModelRegistered", "ModelPushed", "ModelPushed"]
    first, again = entries[1]["payload"], entries[2]["payload"]
    assert set(first) == {"version", "digest", "source", "alias", "reused", "origin", "job"}, \
        "nothing but these: no credentials"
    assert (first["origin"], first["job"]) == (None, None)  # a host folder
    assert (first["version"], first["alias"], first["reused"]) == ("1", "staging", False)
    assert len(first["digest"]) == 64 and first["source"] == f"s3://models/{noted['model']}/{first['digest'][:16]}"
    assert again == {**first, "reused": True}


@given(parsers.parse('the trained model copied to "{folder}" on the HPC cluster\'s shared storage'))
def model_on_shared(noted: dict[str, str], folder: str) -> None:
    import shutil

    shutil.copytree(Path(noted["tmp"]) / "model", Path(noted["pools"]) / "shared" / "mini-hpc" / folder)


@then(parsers.parse('the log records the push of {{model}} from "{origin}", job {job}'))
def push_origin(run_cli, noted, origin: str, job: str) -> None:
    result = run_cli("audit", "log", "--json", "--type", "ModelPushed")  # named without its ModelRegistered
    [pushed] = [json.loads(line)["payload"] for line in result.stdout.splitlines()
                if json.loads(line)["aggregate"] == f"model {noted['model']}"]
    assert (pushed["origin"], pushed["job"], pushed["version"]) == (origin, job, "1")
