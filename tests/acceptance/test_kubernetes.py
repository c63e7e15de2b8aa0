"""Steps for features/kubernetes.feature.

The deploy, join and drain run through the real command bus, handlers and kubernetes client
adapter; what cannot run here stands in: the playbooks (a fake provisioner that records each
run: Kubespray itself runs on real guests in tests/integration/test_kubernetes_deploy.py), the
guests (canned answers, the admin.conf among them) and the API server (kmock's emulator on
loopback). The inventory is read back by Ansible's own ansible-inventory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, scenarios, then, when

from ai_how.adapters.kubernetes.client import KubernetesClientApi
from ai_how.app.bootstrap import bootstrap
from ai_how.app.config.loader import load_config
from ai_how.app.config.validation import validate_config
from ai_how.app.deploy.addons import addon_settings
from ai_how.app.deploy.kubespray.checkout import read_checkout
from ai_how.app.deploy.kubespray.inventory import kubernetes_settings
from ai_how.app.ports import Hypervisor
from ai_how.domain.cluster import Cluster
from ai_how.domain.commands import DeployKubernetes, MarkVmStarted, StopVms
from ai_how.domain.errors import DrainTimedOut
from ai_how.domain.vm import Vm
from tests.conftest import REPO
from tests.fakes.guests import FakeGuests
from tests.fakes.kube_api import emulated_api_server, register_node
from tests.fakes.provisioner import FakeProvisioner

scenarios("kubernetes.feature")
STANDIN = REPO / "tests" / "fakes" / "kubespray"
ADMIN_CONF = """apiVersion: v1
kind: Config
clusters:
- cluster: {certificate-authority-data: c3RhbmQtaW4=, server: 'https://127.0.0.1:6443'}
  name: cluster.local
contexts:
- context: {cluster: cluster.local, user: kubernetes-admin}
  name: admin
current-context: admin
users:
- name: kubernetes-admin
  user: {token: stand-in-token-0123456789}
"""


@then(parsers.parse('ansible-inventory reads "{path}" with these Kubespray groups:'))
def read_by_ansible(noted, inventory: dict, path: str, datatable) -> None:
    tool = Path(sys.executable).parent / "ansible-inventory"
    out = subprocess.run([str(tool), "-i", path.replace("{tmp}", noted["tmp"]), "--list"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and "[WARNING]" not in out.stderr, out.stderr
    inventory.update(json.loads(out.stdout))
    for group, hosts in datatable[1:]:
        assert sorted(inventory[group]["hosts"]) == sorted(h.strip() for h in hosts.split(",")), group
    assert sorted(inventory["k8s_cluster"]["children"]) == ["kube_control_plane", "kube_node"]


@then("in that inventory every host has ansible_host, ip and access_ip on its own address")
def addresses(inventory: dict) -> None:
    seen = set()
    for host, found in inventory["_meta"]["hostvars"].items():
        assert found["ansible_host"] == found["ip"] == found["access_ip"], host
        assert found["ansible_become"] is True and "StrictHostKeyChecking=yes" in found["ansible_ssh_common_args"]
        seen.add(found["ip"])
    assert len(seen) == len(inventory["_meta"]["hostvars"])


@then(parsers.parse('in that inventory every host has kube_version "{version}", kube_network_plugin "{cni}" and '
                    'kube_pods_subnet "{pods}"'))
def cluster_vars(inventory: dict, version: str, cni: str, pods: str) -> None:
    for host, found in inventory["_meta"]["hostvars"].items():
        assert (found["kube_version"], found["kube_network_plugin"], found["kube_pods_subnet"]) == \
            (version, cni, pods), host
        assert found["helm_enabled"] is True and isinstance(found["ingress_nginx_enabled"], bool)


class StoppingHost(Hypervisor):
    """Of the hypervisor, the one call a stop makes: the domains themselves are not the subject."""

    def __init__(self) -> None:
        self.shut_down: list[str] = []

    def shutdown_vm(self, name: str, timeout_s: float) -> None:
        self.shut_down.append(name)


class World:
    """One scenario's platform: the bus, its stand-ins and what they saw."""

    def __init__(self, tmp_path: Path, api) -> None:
        self.api = api
        self.tmp_path = tmp_path
        self.provisioner = FakeProvisioner(tmp_path / "runs")
        self.guests = FakeGuests({("sudo", "cat", "/etc/kubernetes/admin.conf"): ADMIN_CONF})
        self.host = StoppingHost()
        store = {k: v for k, v in os.environ.items() if k == "AI_HOW_EVENT_STORE"}  # the scenario's backend
        self.bus = bootstrap(tmp_path / "state", hypervisor=self.host, provisioner=self.provisioner, env=store,
                             kubernetes=KubernetesClientApi(server=api.url), guests=self.guests)
        self.seen: list[str] = []
        self.bus.dependencies["progress"].sink = lambda subject, message: self.seen.append(f"{subject}: {message}")
        self.planned = None
        self.parsed = None
        self.notes: list[str] = []
        self.refusal: Exception | None = None
        self.registered: set[str] = set()

    @property
    def kubeconfig(self) -> Path:
        return self.tmp_path / "state" / "kube" / f"{self.planned.name}.conf"

    def node(self, name: str):
        return {n.name: n for n in self.bus.dependencies["kubernetes"].nodes(self.kubeconfig)}[name]


@pytest.fixture
def world(tmp_path: Path):
    with emulated_api_server() as api:
        found = World(tmp_path, api)
        yield found
        found.bus.close()


@given(parsers.parse('the Cloud cluster of "{path}" running without its GPU worker'))
def running_cluster(world: World, path: str) -> None:
    world.parsed = load_config(REPO / path)
    planned = next(c for c in validate_config(world.parsed).clusters if c.kind == "cloud")
    image = {"base_image_path": "/var/lib/ai-how/images/cloud-base.qcow2"}
    vms = tuple(dataclasses.replace(vm.plan, spec=dataclasses.replace(vm.plan.spec, **image)) for vm in planned.vms)
    world.planned = dataclasses.replace(planned, plan=dataclasses.replace(planned.plan, vms=vms))
    cluster = Cluster.provision(world.planned.plan)
    cluster.mark_started()
    defined = [Vm.define(vm.name, cluster.name, vm.role, vm.spec) for vm in vms]
    for vm in defined:
        if vm.spec.auto_start:
            vm.request_start()
            vm.mark_started()
            register_node(world.api, vm.name)  # its kubelet registers it once Kubernetes is there
            world.registered.add(vm.name)
    world.bus.store.save(cluster, *defined)
    world.bus.store.collect_new_events()


@given(parsers.parse("its kubernetes_config says {key}: {value}"))
def kubernetes_setting(world: World, key: str, value: str) -> None:
    section = world.planned.section
    k8s = section.kubernetes_config.model_copy(update={key: yaml.safe_load(value)})
    world.planned = dataclasses.replace(world.planned, section=section.model_copy(update={"kubernetes_config": k8s}))


@given("Kubernetes deployed on it")
def deployed(world: World) -> None:
    checkout = read_checkout(STANDIN)
    binary = world.tmp_path / "venv" / "bin" / "ansible-playbook"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")  # the fake provisioner runs nothing; the deploy checks it is there
    settings = {**kubernetes_settings(world.planned.section, world.planned.vms), "binary": str(binary),
                "ready_timeout_s": 5}
    addons = addon_settings(world.planned.section, True)
    world.bus.handle(DeployKubernetes(world.planned.name, str(checkout.path), settings, addons))


@given(parsers.parse('the pod "{pod}" runs on {node}'))
def pod_runs(world: World, pod: str, node: str) -> None:
    namespace, name = pod.split("/")
    world.api.add_pod(namespace, name, node)


@given(parsers.parse('the pod "{pod}" runs on {node} behind a disruption budget'))
def pod_budgeted(world: World, pod: str, node: str) -> None:
    namespace, name = pod.split("/")
    world.api.add_pod(namespace, name, node)
    world.api.budgeted.add((namespace, name))
    world.bus.dependencies["before_stop"].sleep = lambda _: None


@when(parsers.parse("the guest of {vm} comes up"))
def guest_up(world: World, vm: str) -> None:
    store = world.bus.store
    found = store.get(Vm.create_id(vm))
    if found.state.value != "running":
        found.request_start()
        store.save(found)
        store.collect_new_events()
    if vm not in world.registered:  # a node that joins registers when Kubespray has set its kubelet up
        register_node(world.api, vm)
        world.registered.add(vm)
    world.bus.handle(MarkVmStarted(vm, ready=(found.spec.ip, "tcg", 40.0)))


@when(parsers.parse("{vm} is stopped"))
def stop_vm(world: World, vm: str) -> None:
    _stop(world, vm, True)


@when(parsers.parse("{vm} is stopped with --force"))
def stop_vm_forced(world: World, vm: str) -> None:
    _stop(world, vm, False)


def _stop(world: World, vm: str, drain: bool) -> None:
    world.refusal = None
    try:
        world.notes = world.bus.handle(StopVms((vm,), 1.0, drain=drain)).notes
    except DrainTimedOut as refused:
        world.refusal = refused


@then(parsers.parse("Kubespray's scale.yml ran for {vm} alone"))
def scale_ran(world: World, vm: str) -> None:
    runs = [r for r in world.provisioner.runs if r.playbook == "playbooks/scale-cloud-cluster.yml"]
    assert [r.limit for r in runs] == [vm]
    assert vm in runs[0].inventory["all"]["children"]["kube_node"]["hosts"]
    assert runs[0].extravars["kubespray_dir"] == str(STANDIN.resolve())


@then("no scale.yml ran")
def no_scale(world: World) -> None:
    assert "playbooks/scale-cloud-cluster.yml" not in world.provisioner.playbooks


@then(parsers.parse('the progress said "{text}"'))
def progress_said(world: World, text: str) -> None:
    assert any(text in line for line in world.seen), world.seen


@then(parsers.parse('ai-how gave the node {node} the label "{label}"'))
def node_labelled(world: World, node: str, label: str) -> None:
    """The node registered as its kubelet does, with its hostname label only: the rest is ai-how's."""
    key, value = label.split("=")
    assert world.node(node).labels.get(key) == value


@then(parsers.parse('the stop said "{text}"'))
def stop_said(world: World, text: str) -> None:
    assert world.refusal is None, world.refusal
    assert any(note.startswith(text) for note in world.notes), world.notes


@then(parsers.parse("the node {node} is cordoned and runs no pod a drain moves"))
def cordoned(world: World, node: str) -> None:
    assert world.node(node).unschedulable
    assert world.bus.dependencies["kubernetes"].pods_on(world.kubeconfig, node) == []


@then(parsers.parse("the node {node} is not cordoned"))
def uncordoned(world: World, node: str) -> None:
    assert not world.node(node).unschedulable
    assert world.bus.store.get(Cluster.create_id(world.planned.name)).drained == []


@then(parsers.parse('the stop is refused with "{text}"'))
def stop_refused(world: World, text: str) -> None:
    assert world.refusal is not None and text in str(world.refusal), world.refusal


@then(parsers.parse("{vm} is still running"))
def still_running(world: World, vm: str) -> None:
    assert world.bus.store.get(Vm.create_id(vm)).state.value == "running"
    assert vm not in world.host.shut_down



@then("the add-ons' generated passwords are files only root reads, in no event, view or playbook variable")
def passwords_kept(world: World) -> None:
    import stat

    folder = world.tmp_path / "state" / "keys" / "clusters" / world.planned.name
    secrets = {p.name: p.read_text() for p in folder.iterdir() if p.name.endswith("-password")}
    assert sorted(secrets) == ["grafana-admin-password", "minio-root-password", "postgresql-password"]
    assert all(stat.S_IMODE((folder / name).stat().st_mode) == 0o600 for name in secrets)
    log = json.dumps([e.payload for e in world.bus.store.read_log()], default=str)
    views = json.dumps(world.bus.dependencies["views"].dump(), default=str)
    runs = json.dumps([run.extravars for run in world.provisioner.runs], default=str)
    assert "secret_files" in log  # the paths are recorded, so a later join finds them
    for value in secrets.values():
        assert len(value) >= 24 and value not in log and value not in views and value not in runs
