"""Deploying Kubernetes on the Cloud cluster, and keeping its nodes in step with its VMs.

``DeployKubernetes`` records the intent (``KubernetesDeployStarted``, with the layout: the
Kubespray release, the Kubernetes version, the inventory's variables, the add-ons); the
event's handler runs Kubespray's ``cluster.yml`` through the ``Provisioner``, fetches the
admin kubeconfig from the control plane, labels and taints the nodes, waits until they are
Ready, then runs the add-on playbooks. ``KubernetesDeployed`` or ``KubernetesDeployFailed``
(host, task, message) ends it.

A worker that was off at the deploy joins when its guest is ready (``GuestReady`` →
``JoinNode`` → Kubespray's ``scale.yml`` for that node → ``NodeJoined``); a node's VM is
cordoned and drained before it stops (``NodeDrained``), and uncordoned when it is back.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.ports import EventStore, KeyStore, KubernetesApi, PlaybookOutcome, PlaybookRun, Provisioner
from ai_how.app.progress import Progress
from ai_how.domain.cluster import Cluster, ClusterKind, ClusterStatus
from ai_how.domain.commands import (
    Command,
    DeployKubernetes,
    JoinNode,
    MarkKubernetesDeployed,
    MarkKubernetesDeployFailed,
)
from ai_how.domain.errors import ClusterNotRunning, DeployInProgress, DrainTimedOut, UnknownObject
from ai_how.domain.ids import cluster_id, vm_id
from ai_how.domain.specs import VmSpec
from ai_how.domain.vm import Vm, VmState

from .addons import PLAYBOOKS as ADDON_PLAYBOOKS
from .addons import ROLES, addon_settings
from .hpc import INTERRUPTED, DeployFailed, DeployStarted, _hosts, _run_id, failure_of
from .kubernetes import WORKER_ROLES, kubernetes_settings, kubespray_inventory, ssh_access
from .kubespray import read_checkout

PLAYBOOK = "playbooks/deploy-cloud-cluster.yml"
SCALE = "playbooks/scale-cloud-cluster.yml"
ADMIN_CONF = "/etc/kubernetes/admin.conf"
API_PORT = 6443


def _cloud_cluster(store: EventStore, name: str) -> Cluster:
    cluster = store.get(cluster_id(name))
    if cluster is None or cluster.status == ClusterStatus.DESTROYED:
        raise ClusterNotRunning(f"cluster {name} is not running here: start it with 'ai-how cloud start CONFIG', "
                                "then deploy it")
    if cluster.kind != ClusterKind.CLOUD:
        raise UsageError(f"cluster {name} is an {cluster.kind} cluster; Kubernetes goes on the cloud cluster")
    if cluster.status != ClusterStatus.RUNNING:
        raise ClusterNotRunning(f"cluster {name} is {cluster.status}: start it with 'ai-how cloud start CONFIG', "
                                "then deploy it")
    return cluster


def _running_rows(live_topology: Any, cluster: Cluster) -> list[dict[str, Any]]:
    topology = live_topology.catch_up()
    rows = [topology.vms[name] for name in cluster.vms if name in topology.vms]
    control = next((r for r in rows if r["role"] == "control-plane"), None)
    if control is None or control["state"] != "running":
        raise ClusterNotRunning(f"the control plane of {cluster.name} is not running: start it with "
                                f"'ai-how vm start {cluster.name}-control-plane', then deploy again")
    running = [r for r in rows if r["state"] == "running"]
    for row in running:
        spec = VmSpec.from_dict(row["spec"])
        if not spec.has_os or not spec.ip:
            raise UsageError(f"{row['name']} boots no image, so there is no guest to configure; give the cluster "
                             "a base_image (ai-how image build cloud-base) and start it again")
    return running


def _hosts_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": r["name"], "role": r["role"], "ip": VmSpec.from_dict(r["spec"]).ip} for r in rows]


def deploy_command(planned: Any, kubespray: Any, venvs: Path, addons: bool) -> DeployKubernetes:
    """The ``DeployKubernetes`` of a planned Cloud cluster, with the checkout's venv (in ``venvs``)
    and, unless ``addons`` is off, every enabled add-on's variables."""
    settings = kubernetes_settings(planned.section, planned.vms)
    settings["binary"] = str(kubespray.venv(venvs) / "bin" / "ansible-playbook")
    has_gpus = any(vm.plan.spec.gpus for vm in planned.vms if vm.plan.role == "gpu-worker")
    found = addon_settings(planned.section, has_gpus) if addons else {"vars": {}, "enabled": [], "secrets": {}}
    return DeployKubernetes(planned.name, str(kubespray.path), settings, found)


def deploy(bus: Any, planned: Any, kubespray: Any, venvs: Path, addons: bool = True) -> dict[str, Any]:
    """Deploy Kubernetes and its add-ons on a planned Cloud cluster that runs; the run's record."""
    from .hpc import deploy_outcome

    started = bus.handle(deploy_command(planned, kubespray, venvs, addons))
    return deploy_outcome(bus.store, planned.name, started.run_id)


def deploy_kubernetes(command: DeployKubernetes, store: EventStore, provisioner: Provisioner,
                      live_topology: Any, keys: KeyStore) -> DeployStarted:
    provisioner.check()
    cluster = _cloud_cluster(store, command.name)
    checkout = read_checkout(Path(command.kubespray))
    kube_version = checkout.resolve(command.settings.get("version"))
    if not Path(command.settings["binary"]).exists():
        raise UsageError(f"Kubespray {checkout.version} has no environment yet; make it with: "
                         f"ai-how kubespray setup {checkout.path}")
    running = _running_rows(live_topology, cluster)
    if cluster.deploying is not None:
        if provisioner.busy(command.name):
            raise DeployInProgress(f"cluster {command.name} is being deployed by another ai-how "
                                   f"(run {cluster.deploying['run_id']}); wait for it to end")
        cluster.mark_kubernetes_deploy_failed(cluster.deploying["run_id"], "-", "-", INTERRUPTED, 0.0, {})
    # A password from the config goes to its secret file; only the file's path goes on.
    addons = dict(command.addons)
    secrets = {name: str(keys.cluster_secret(command.name, name, value))
               for name, value in (addons.pop("secrets", None) or {}).items()}
    layout = {"kubespray_dir": str(checkout.path), "kubespray_version": checkout.version,
              "kube_version": kube_version, "settings": {k: v for k, v in command.settings.items()},
              "addons": {**addons, "secret_files": secrets}}
    config_digest = hashlib.sha256(json.dumps(layout, sort_keys=True).encode()).hexdigest()
    run_id = _run_id(command.name, False)
    cluster.start_kubernetes_deploy(run_id, PLAYBOOK, provisioner.digest(PLAYBOOK), config_digest, checkout.version,
                                    kube_version, [r["name"] for r in running], list(addons.get("enabled", [])),
                                    layout)
    store.save(cluster)
    return DeployStarted(run_id, command.name)


def _playbook_run(run_id: str, cluster: str, playbook: str, hosts: list[dict[str, Any]], layout: dict[str, Any],
                  keys: KeyStore, login: str, limit: str | None = None,
                  extravars: dict[str, Any] | None = None) -> PlaybookRun:
    private_key, _ = keys.platform_key()
    files = kubespray_inventory(cluster, hosts, layout["settings"], layout["kube_version"],
                                ssh_access(login, private_key, keys.known_hosts))
    group_vars = {path.removeprefix("group_vars/"): content for path, content in files.items()
                  if path.startswith("group_vars/")}
    checkout = Path(layout["kubespray_dir"])
    return PlaybookRun(run_id, cluster, playbook, files["hosts.yaml"],
                       {"kubespray_dir": str(checkout), **(extravars or {})}, limit, False,
                       binary=layout["settings"]["binary"], group_vars=group_vars,
                       roles_paths=(str(checkout / "roles"),))


def _login(rows: list[dict[str, Any]]) -> str:
    return sorted(VmSpec.from_dict(r["spec"]).login for r in rows)[0]


def fetch_kubeconfig(guests: Any, keys: KeyStore, cluster: str, login: str, address: str) -> Path:
    """The control plane's admin.conf, 0600 under the state directory, its server on the
    control plane's address (kubeadm writes 127.0.0.1 or an internal endpoint)."""
    import yaml

    code, out, err = guests.run(login, address, ["sudo", "cat", ADMIN_CONF], 60)
    if code != 0:
        raise InfrastructureError(f"cannot read {ADMIN_CONF} on {address}: {err.strip() or f'exit {code}'}")
    try:
        config = yaml.safe_load(out)
        for entry in config["clusters"]:
            entry["cluster"]["server"] = f"https://{address}:{API_PORT}"
    except (yaml.YAMLError, KeyError, TypeError):
        raise InfrastructureError(f"{ADMIN_CONF} on {address} is not a kubeconfig") from None
    return keys.store_kubeconfig(cluster, yaml.safe_dump(config, sort_keys=False))


def settle_nodes(kubernetes: KubernetesApi, kubeconfig: Path, names: list[str], settings: dict[str, Any],
                 progress: Progress, timeout_s: float | None = None) -> None:
    """Labels and taints from the config on each node, then every one Ready."""
    timeout_s = settings.get("ready_timeout_s", 900) if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout_s
    pending = list(names)
    while True:
        known = {n.name: n for n in _api_nodes(kubernetes, kubeconfig, deadline)}
        for name in [n for n in pending if n in known and known[n].ready]:
            node = settings["nodes"].get(name, {})
            kubernetes.label_and_taint(kubeconfig, name, node.get("labels", {}), node.get("taints", []))
            progress(name, "node Ready; labelled and tainted as configured")
            pending.remove(name)
        if not pending:
            return
        if time.monotonic() >= deadline:
            states = ", ".join(f"{n} ({'NotReady' if n in known else 'not registered'})" for n in pending)
            raise InfrastructureError(f"nodes not Ready after {timeout_s:.0f} s: {states}; see 'kubectl describe "
                                      "node' with the cluster's kubeconfig")
        time.sleep(3)


def _api_nodes(kubernetes: KubernetesApi, kubeconfig: Path, deadline: float) -> list[Any]:
    """The nodes; an API server that is still coming up is asked again until the deadline."""
    while True:
        try:
            return kubernetes.nodes(kubeconfig)
        except InfrastructureError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(3)


def _run(provisioner: Provisioner, run: PlaybookRun, progress: Progress, what: str) -> PlaybookOutcome:
    progress(run.cluster, f"{what} with {run.playbook} (run {run.run_id})")
    outcome = provisioner.run(run, lambda host, status, task: progress(host, f"{status}: {task}"))
    if outcome.status != "successful":
        raise DeployFailed(run.cluster, outcome)
    return outcome


def run_kubespray(event: Cluster.KubernetesDeployStarted, store: EventStore, provisioner: Provisioner,
                  live_topology: Any, keys: KeyStore, guests: Any, kubernetes: KubernetesApi,
                  progress: Progress) -> Command:
    cluster: Cluster | None = store.read(event.originator_id)
    if cluster is None:
        raise UnknownObject(f"the cluster of run {event.run_id} is not in the store")
    layout = event.layout
    rows = [r for r in _running_rows(live_topology, cluster) if r["name"] in event.hosts]
    hosts, login = _hosts_of(rows), _login(rows)
    run = _playbook_run(event.run_id, cluster.name, PLAYBOOK, hosts, layout, keys, login)
    outcome = _run(provisioner, run, progress, f"Kubernetes {layout['kube_version']} by Kubespray "
                                               f"{layout['kubespray_version']}")
    control = next(h for h in hosts if h["role"] == "control-plane")
    kubeconfig = fetch_kubeconfig(guests, keys, cluster.name, login, control["ip"])
    progress(cluster.name, f"kubeconfig: {kubeconfig}")
    names = [h["name"] for h in hosts]
    settle_nodes(kubernetes, kubeconfig, names, layout["settings"], progress)
    addon_vars = layout["addons"]
    enabled = set(addon_vars.get("enabled", []))
    for kind, playbook in ADDON_PLAYBOOKS.items():
        if not any(role in enabled for role, where in ROLES if where == kind):
            continue
        extravars = {**addon_vars.get("vars", {}), "ai_how_kubeconfig": str(kubeconfig),
                     **{f"ai_how_secret_{name.replace('-', '_')}": path
                        for name, path in addon_vars.get("secret_files", {}).items()}}
        addons_run = _playbook_run(f"{event.run_id}-{kind}", cluster.name, playbook, hosts, layout, keys, login,
                                   extravars=extravars)
        more = _run(provisioner, addons_run, progress, f"the {kind} add-ons")
        for host, tally in more.hosts.items():
            outcome.hosts.setdefault(host, tally)
        outcome = PlaybookOutcome(outcome.run_id, outcome.status, outcome.rc, outcome.seconds + more.seconds,
                                  outcome.hosts, outcome.artifacts, outcome.failure)
    return MarkKubernetesDeployed(cluster.name, event.run_id, layout["kube_version"], tuple(names), str(kubeconfig),
                                  outcome.seconds, _hosts(outcome))


def record_kubespray_failure(event: Cluster.KubernetesDeployStarted, error: Exception, store: EventStore) -> Command:
    return MarkKubernetesDeployFailed(store.read(event.originator_id).name, event.run_id, *failure_of(error))


def mark_kubernetes_deployed(command: MarkKubernetesDeployed, store: EventStore) -> None:
    cluster = store.get(cluster_id(command.name))
    cluster.mark_kubernetes_deployed(command.run_id, command.kube_version, list(command.nodes), command.kubeconfig,
                                     command.seconds, {h: dict(c) for h, c in command.hosts})
    store.save(cluster)


def mark_kubernetes_deploy_failed(command: MarkKubernetesDeployFailed, store: EventStore) -> None:
    cluster = store.get(cluster_id(command.name))
    cluster.mark_kubernetes_deploy_failed(command.run_id, command.host, command.task, command.message,
                                          command.seconds, {h: dict(c) for h, c in command.hosts})
    store.save(cluster)


def _kube(cluster: Cluster) -> dict[str, Any]:
    """Its Kubernetes deployment record, where one is known to be there."""
    if cluster.kubernetes is None:
        raise UsageError(f"{cluster.name} has no deployed Kubernetes: run 'ai-how cloud deploy CONFIG' first")
    return cluster.kubernetes


def _deployed(cluster: Cluster) -> bool:
    return cluster.kubernetes is not None and cluster.is_deployed


def join_node(command: JoinNode, store: EventStore, provisioner: Provisioner, live_topology: Any, keys: KeyStore,
              kubernetes: KubernetesApi, progress: Progress) -> str:
    """Kubespray's scale.yml for one running worker; ``NodeJoined``, or ``NodeJoinFailed`` and
    the failure raised. The run id is returned."""
    provisioner.check()
    cluster = _cloud_cluster(store, command.name)
    if not _deployed(cluster):
        raise UsageError(f"{command.name} has no deployed Kubernetes to join: run 'ai-how cloud deploy CONFIG' "
                         "first")
    rows = _running_rows(live_topology, cluster)
    row = next((r for r in rows if r["name"] == command.vm), None)
    if row is None or row["role"] not in WORKER_ROLES:
        workers = [r["name"] for r in rows if r["role"] in WORKER_ROLES]
        raise UsageError(f"--limit {command.vm}: not a running worker of {command.name} "
                         f"(running workers: {', '.join(workers) or 'none'})")
    layout = _kube(cluster)["layout"]
    run_id = _run_id(command.name, False).replace("-deploy-", "-join-")
    began = time.monotonic()
    try:
        run = _playbook_run(run_id, cluster.name, SCALE, _hosts_of(rows), layout, keys, _login(rows),
                            limit=command.vm)
        _run(provisioner, run, progress, f"{command.vm} joins Kubernetes")
        settle_nodes(kubernetes, Path(_kube(cluster)["kubeconfig"]), [command.vm], layout["settings"], progress)
    except Exception as exc:
        host, task, message, _, _ = failure_of(exc)
        fresh = store.get(cluster_id(command.name))
        fresh.record_node_join_failed(command.vm, run_id, host, task, message)
        store.save(fresh)
        raise
    joined = store.get(cluster_id(command.name))
    joined.record_node_joined(command.vm, run_id, time.monotonic() - began)
    store.save(joined)
    return run_id


def follow_guest(event: Vm.GuestReady, store: EventStore, kubernetes: KubernetesApi,
                 progress: Progress) -> Command | None:
    """A Cloud worker's guest is up: a worker that is no node yet joins (or is told how); one
    ai-how drained before its stop is uncordoned."""
    vm = store.read(event.originator_id)
    if vm.role not in WORKER_ROLES:
        return None
    cluster = store.get(cluster_id(vm.cluster))
    if cluster is None or cluster.kind != ClusterKind.CLOUD or not _deployed(cluster):
        return None
    if vm.name in cluster.drained:
        kubeconfig = Path(cluster.kubernetes["kubeconfig"])
        deadline = time.monotonic() + 120
        _api_nodes(kubernetes, kubeconfig, deadline)
        kubernetes.cordon(kubeconfig, vm.name, unschedulable=False)
        cluster.record_node_resumed(vm.name)
        store.save(cluster)
        progress(vm.name, "node uncordoned: it takes pods again")
        return None
    if vm.name in cluster.nodes:
        return None
    if not cluster.kubernetes["layout"]["settings"].get("auto_join", True):
        progress(vm.name, f"not a Kubernetes node yet (auto_join: false); join it with "
                          f"'ai-how cloud deploy CONFIG --limit {vm.name}'")
        return None
    return JoinNode(cluster.name, vm.name)


class DrainBeforeStop:
    """``BeforeStop``: a Kubernetes node's VM is cordoned and drained before it stops, unless
    its whole cluster goes down with it (no control plane left to drain to) or ``drain`` is
    off (``--force``)."""

    def __init__(self, store: EventStore, kubernetes: KubernetesApi, progress: Progress,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.kubernetes = kubernetes
        self.progress = progress
        self.sleep = sleep

    def __call__(self, vms: list[str], drain: bool) -> list[str]:
        notes = []
        for name in vms:
            vm = self.store.get(vm_id(name))
            if vm is None or vm.state != VmState.RUNNING or vm.role not in WORKER_ROLES:
                continue
            cluster = self.store.get(cluster_id(vm.cluster))
            if cluster is None or not _deployed(cluster) or name not in cluster.nodes:
                continue
            control = f"{cluster.name}-control-plane"
            control_vm = self.store.get(vm_id(control))
            if control in vms or control_vm is None or control_vm.state != VmState.RUNNING:
                continue
            if not drain:
                notes.append(f"{name} stops without a drain (--force): its pods end with it")
                continue
            notes.append(self._drain(cluster, name))
        return notes

    def _drain(self, cluster: Cluster, name: str) -> str:
        kubeconfig = Path(_kube(cluster)["kubeconfig"])
        timeout_s = float(_kube(cluster)["layout"]["settings"].get("drain_timeout_s", 120))
        began = time.monotonic()
        self.kubernetes.cordon(kubeconfig, name)
        self.progress(name, "cordoned; evicting its pods")
        moved = self.kubernetes.pods_on(kubeconfig, name)
        while True:
            self.kubernetes.evict(kubeconfig, name)
            left = self.kubernetes.pods_on(kubeconfig, name)
            if not left:
                break
            if time.monotonic() - began >= timeout_s:
                raise DrainTimedOut(f"{name} still runs {len(left)} pod(s) after {timeout_s:.0f} s of draining "
                                    f"({', '.join(left[:5])}); it stays cordoned and running: wait and stop it "
                                    "again, or stop it now with --force")
            self.sleep(2)
        seconds = time.monotonic() - began
        fresh = self.store.get(cluster_id(cluster.name))
        fresh.record_node_drained(name, moved, seconds)
        self.store.save(fresh)
        return f"{name} drained: {len(moved)} pod(s) moved in {seconds:.0f} s"


COMMAND_HANDLERS: dict[type, Any] = {DeployKubernetes: deploy_kubernetes, MarkKubernetesDeployed: mark_kubernetes_deployed,
                    MarkKubernetesDeployFailed: mark_kubernetes_deploy_failed, JoinNode: join_node}
EVENT_HANDLERS = {Cluster.KubernetesDeployStarted: [(run_kubespray, record_kubespray_failure, False)],
                  Vm.GuestReady: [(follow_guest, None, False)]}
