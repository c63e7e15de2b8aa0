"""The Cloud cluster's add-on roles, rendered by Ansible itself with the variables ai-how makes
from the Oumi plan's config (every add-on on): every Kubernetes object passes
kubernetes-validate for its kind and version (strict: no unknown field), every KServe
resource the InferenceService CRD schema in ../shared/schemas, and the Helm values carry the
configured versions. No API server can run here, so nothing is applied; the roles' tasks are
checked by ansible-lint and the syntax check (test_ansible_tree.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ai_how.app.config.loader import load_config
from ai_how.app.deploy.addons import ROLES, addon_settings
from tests.conftest import KSERVE_SCHEMA, REPO

ANSIBLE = REPO / "ansible"
KUBERNETES = "1.33"  # what the stand-in Kubespray's newest version serves; the schemas are per minor
SCHEMA = KSERVE_SCHEMA
PLAY_VARS = yaml.safe_load((ANSIBLE / "playbooks" / "playbook-cloud.yml").read_text())[0]["vars"]
CUSTOM_KINDS = {"KnativeServing", "ServiceMonitor", "PodMonitor"}  # CRDs of the charts the roles install


def _variables(tmp_path: Path, config: str = "tests/data/oumi-plan-cloud.yaml", **changes) -> dict:
    section = load_config(REPO / config).clusters.cloud
    found = addon_settings(section, has_gpu_workers=True)
    variables = {**found["vars"], **changes, "ai_how_kubeconfig": str(tmp_path / "admin.conf")}
    for name in found["secrets"]:
        secret = tmp_path / name
        secret.write_text(f"generated-{name}")
        variables[f"ai_how_secret_{name.replace('-', '_')}"] = str(secret)
    return variables


def render(tmp_path: Path, variables: dict) -> dict[str, str]:
    """Every template of every add-on role, by one ansible-playbook run on localhost."""
    out_dir = tmp_path / "rendered"
    tasks = []
    for role, _ in ROLES:
        folder = ANSIBLE / "roles" / role
        (out_dir / role).mkdir(parents=True)
        tasks.append({"name": f"{role} defaults", "ansible.builtin.include_vars": str(folder / "defaults" / "main.yml")})
        tasks.append({"name": f"{role} variables from the config and the playbook",
                      "ansible.builtin.set_fact": {"role_path": str(folder), **PLAY_VARS, **variables}})
        for template in sorted((folder / "templates").glob("*.j2")):
            loops = variables.get("grafana_dashboards", []) if template.name == "dashboard.yaml.j2" else [""]
            for item in loops:
                suffix = f"-{item}" if item else ""
                tasks.append({"name": f"{role} {template.name}{suffix}",
                              "ansible.builtin.template": {
                                  "src": str(template), "mode": "0600",
                                  "dest": str(out_dir / role / f"{template.name.removesuffix('.j2')}{suffix}")},
                              "vars": {"grafana_dashboard": item}})
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Render", "hosts": "localhost", "gather_facts": False,
                                         "connection": "local", "tasks": tasks}], sort_keys=False))
    out = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook)],
                         capture_output=True, text=True,
                         env={"ANSIBLE_CONFIG": str(ANSIBLE / "ansible.cfg"), "PATH": "/usr/bin:/bin",
                              "ANSIBLE_LOCALHOST_WARNING": "False", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    return {str(p.relative_to(out_dir)): p.read_text() for p in sorted(out_dir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    tmp_path = tmp_path_factory.mktemp("addons")
    return render(tmp_path, _variables(tmp_path, nvidia_gpu_operator_time_slicing=True,
                                       prometheus_stack_service_monitors=["nvidia_dcgm", "mlflow", "inference_services"],
                                       kserve_smoke_test=True, mlflow_ingress_enabled=True,
                                       mlflow_ingress_host="mlflow.local"))


def _objects(rendered: dict[str, str]) -> list[tuple[str, dict]]:
    found = []
    for path, text in rendered.items():
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc:
                found.append((path, doc))
    return found


def test_every_kubernetes_object_the_roles_render_is_valid_for_its_kind(rendered: dict[str, str]) -> None:
    import kubernetes_validate

    objects = _objects(rendered)
    kinds = {doc["kind"] for _, doc in objects}
    assert {"Namespace", "Secret", "Deployment", "StatefulSet", "Service", "PersistentVolumeClaim", "Job",
            "ConfigMap", "Ingress", "InferenceService", "KnativeServing", "ServiceMonitor"} <= kinds
    checked = 0
    for path, doc in objects:
        if doc["kind"] in CUSTOM_KINDS or doc["kind"] == "InferenceService":
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path}: {doc['kind']} {doc['metadata'].get('name')}: {exc.message} at {list(exc.path)}")
        checked += 1
    assert checked >= 15


def test_the_example_inference_service_passes_the_kserve_crd_schema(rendered: dict[str, str]) -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    services = [doc for _, doc in _objects(rendered) if doc["kind"] == "InferenceService"]
    assert len(services) == 1
    validator.validate(services[0])
    predictor = services[0]["spec"]["predictor"]
    # The Oumi plan's serving defaults: 1 to 5 replicas, a GPU each.
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 5)
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    broken = json.loads(json.dumps(services[0]))
    broken["spec"]["predictor"]["minReplicas"] = "one"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def test_the_gpu_operator_s_helm_values_carry_the_configured_versions(rendered: dict[str, str]) -> None:
    values = yaml.safe_load(rendered["nvidia-gpu-operator/values.yaml"])
    # The Oumi plan: driver 535.129.03, MIG off, GFD and DCGM on; time-slicing asked for here.
    assert values["driver"] == {"enabled": True, "version": "535.129.03"}
    assert values["toolkit"]["version"] == "v1.17.8"
    assert values["devicePlugin"] == {"enabled": True, "config": {"name": "time-slicing-config", "default": "any"}}
    assert values["mig"]["strategy"] == "none" and values["migManager"]["enabled"] is False
    assert values["gfd"]["enabled"] is True and values["dcgmExporter"]["enabled"] is True
    assert values["dcgmExporter"]["env"] == [{"name": "DCGM_EXPORTER_LISTEN", "value": ":5555"}]
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is True
    sharing = yaml.safe_load(yaml.safe_load(rendered["nvidia-gpu-operator/time-slicing-config.yaml"])["data"]["any"])
    assert sharing["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]


def test_versions_and_sizes_from_the_config_reach_the_objects(rendered: dict[str, str]) -> None:
    objects = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in _objects(rendered)}
    minio = objects[("Deployment", "minio")]["spec"]["template"]["spec"]["containers"][0]
    assert minio["image"] == "quay.io/minio/minio:RELEASE.2023-12-02T10-51-33Z"
    assert objects[("PersistentVolumeClaim", "minio-data")]["spec"]["resources"]["requests"]["storage"] == "100Gi"
    postgres = objects[("StatefulSet", "postgresql")]["spec"]
    assert postgres["template"]["spec"]["containers"][0]["image"] == "docker.io/library/postgres:15.5"
    assert postgres["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "local-path"
    mlflow = objects[("Deployment", "mlflow")]["spec"]["template"]["spec"]["containers"][0]
    assert mlflow["image"] == "ghcr.io/mlflow/mlflow:v2.9.0"
    assert "s3://mlflow-artifacts" in mlflow["args"][0]
    assert "@postgresql-service:5432/mlflow" in mlflow["args"][0]  # the config names the service
    assert {"name": "MLFLOW_S3_ENDPOINT_URL", "value": "http://minio-service:9000"} in mlflow["env"]
    job = objects[("Job", "minio-buckets")]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert [w for w in job.split() if w.startswith("store/")] == ["store/mlflow-artifacts", "store/models",
                                                                   "store/datasets"]
    autoscaler = objects[("KnativeServing", "knative-serving")]["spec"]["config"]["autoscaler"]
    assert (autoscaler["min-scale"], autoscaler["max-scale"], autoscaler["container-concurrency-target-default"]) \
        == ("1", "5", "10")
    prometheus = yaml.safe_load(rendered["prometheus-stack/values.yaml"])
    assert prometheus["prometheus"]["prometheusSpec"]["retention"] == "30d"
    assert prometheus["grafana"]["enabled"] is True
    assert prometheus["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    loki = yaml.safe_load(rendered["loki/values.yaml"])
    assert loki["loki"]["limits_config"]["retention_period"] == "7d"


def test_secrets_go_to_the_cluster_from_their_files_only(rendered: dict[str, str]) -> None:
    objects = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in _objects(rendered)}
    assert objects[("Secret", "minio-credentials")]["stringData"]["rootPassword"] == "generated-minio-root-password"
    assert objects[("Secret", "postgresql-credentials")]["stringData"]["password"] == "generated-postgresql-password"
    assert objects[("Secret", "grafana-admin")]["stringData"]["admin-password"] == "generated-grafana-admin-password"
    for (kind, name), doc in objects.items():
        if kind != "Secret":
            assert "generated-" not in json.dumps(doc), (kind, name)


def test_grafana_gets_a_dashboard_for_the_cluster_the_gpus_inference_and_mlflow(rendered: dict[str, str]) -> None:
    dashboards = {doc["metadata"]["name"]: doc for _, doc in _objects(rendered) if doc["kind"] == "ConfigMap"
                  and doc["metadata"].get("labels", {}).get("grafana_dashboard") == "1"}
    assert sorted(dashboards) == [f"ai-how-dashboard-{n}" for n in ("gpu-monitoring", "inference-metrics",
                                                                     "kubernetes-cluster", "mlflow-experiments")]
    gpu = json.loads(dashboards["ai-how-dashboard-gpu-monitoring"]["data"]["gpu-monitoring.json"])
    assert any("DCGM_FI_DEV_GPU_UTIL" in p["targets"][0]["expr"] for p in gpu["panels"])


def test_every_role_runs_only_when_its_section_enables_it() -> None:
    for playbook in ("playbook-cloud.yml", "playbook-mlops.yml"):
        plays = yaml.safe_load((ANSIBLE / "playbooks" / playbook).read_text())
        for entry in plays[0]["roles"]:
            flag = entry["role"].replace("-", "_") + "_enabled"
            assert entry["when"] == f"{flag} | default(false) | bool", entry
            defaults = yaml.safe_load((ANSIBLE / "roles" / entry["role"] / "defaults" / "main.yml").read_text())
            assert defaults[flag] is False, entry["role"]
    assert {r for r, _ in ROLES} == {e["role"] for p in ("playbook-cloud.yml", "playbook-mlops.yml")
                                     for e in yaml.safe_load((ANSIBLE / "playbooks" / p).read_text())[0]["roles"]}


def test_inference_services_get_an_account_whose_secret_reads_minio(rendered: dict[str, str]) -> None:
    objects = {(doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"]): doc
               for _, doc in _objects(rendered)}
    secret = objects[("Secret", "default", "kserve-s3-credentials")]
    assert secret["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"] == "minio-service.mlops.svc:9000"
    assert secret["metadata"]["annotations"]["serving.kserve.io/s3-usehttps"] == "0"
    assert secret["stringData"] == {"AWS_ACCESS_KEY_ID": "admin", "AWS_SECRET_ACCESS_KEY": "generated-minio-root-password"}
    account = objects[("ServiceAccount", "default", "kserve-s3")]
    assert account["secrets"] == [{"name": "kserve-s3-credentials"}]
