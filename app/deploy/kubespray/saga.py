"""Deploying Kubernetes on the Cloud cluster.

``DeployKubernetes`` records the intent (``KubernetesDeployStarted``, with the layout: the
Kubespray release, the Kubernetes version, the inventory's variables, the add-ons); the
event's handler runs Kubespray's ``cluster.yml`` through the ``Provisioner``, fetches the
admin kubeconfig from the control plane, labels and taints the nodes, waits until they are
Ready, then runs the add-on playbooks. ``KubernetesDeployed`` or ``KubernetesDeployFailed``
(host, task, message) ends it. The nodes after the deploy: ``nodes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.ports import EventStore, KeyStore, KubernetesApi, PlaybookOutcome, Provisioner
from ai_how.app.progress import Progress
from ai_how.domain.cluster import Cluster
from ai_how.domain.commands import (
    Command,
    DeployKubernetes,
    MarkKubernetesDeployed,
    MarkKubernetesDeployFailed,
)
from ai_how.domain.deployment import DeployRun
from ai_how.domain.errors import UnknownObject
from ai_how.domain.ids import cluster_id

from ..addons import PLAYBOOKS as ADDON_PLAYBOOKS
from ..addons import ROLES, addon_settings
from ..runs import DeployStarted, deploy_outcome, digest, failure_of, run, run_id, take_over, tallies
from .checkout import read_checkout
from .common import PLAYBOOK, cloud_cluster, hosts_of, login_of, playbook_run, running_rows, settle_nodes
from .inventory import kubernetes_settings

ADMIN_CONF = "/etc/kubernetes/admin.conf"
API_PORT = 6443


def deploy_command(planned: Any, kubespray: Any, venvs: Path, addons: bool) -> DeployKubernetes:
    """The ``DeployKubernetes`` of a planned Cloud cluster, with the checkout's venv (in ``venvs``)
    and, unless ``addons`` is off, every enabled add-on's variables."""
    settings = kubernetes_settings(planned.section, planned.vms)
    settings["binary"] = str(kubespray.venv(venvs) / "bin" / "ansible-playbook")
    has_gpus = any(vm.plan.spec.gpus for vm in planned.vms if vm.plan.role == "gpu-worker")
    found = addon_settings(planned.section, has_gpus) if addons else {"vars": {}, "enabled": [], "secrets": {}}
    return DeployKubernetes(planned.name, str(kubespray.path), settings, found)


def deploy(bus: Any, planned: Any, kubespray: Any, venvs: Path, addons: bool = True) -> DeployRun:
    """Deploy Kubernetes and its add-ons on a planned Cloud cluster that runs; the run as recorded."""
    started = bus.handle(deploy_command(planned, kubespray, venvs, addons))
    return deploy_outcome(bus.store, planned.name, started.run_id)


def deploy_kubernetes(command: DeployKubernetes, store: EventStore, provisioner: Provisioner,
                      live_topology: Any, keys: KeyStore) -> DeployStarted:
    provisioner.check()
    cluster = cloud_cluster(store, command.name)
    checkout = read_checkout(Path(command.kubespray))
    kube_version = checkout.resolve(command.settings.get("version"))
    if not Path(command.settings["binary"]).exists():
        raise UsageError(f"Kubespray {checkout.version} has no environment yet; make it with: "
                         f"ai-how kubespray setup {checkout.path}")
    running = running_rows(live_topology, cluster)
    take_over(cluster, provisioner, cluster.mark_kubernetes_deploy_failed)
    # A password from the config goes to its secret file; only the file's path goes on.
    addons = dict(command.addons)
    secrets = {name: str(keys.cluster_secret(command.name, name, value))
               for name, value in (addons.pop("secrets", None) or {}).items()}
    layout = {"kubespray_dir": str(checkout.path), "kubespray_version": checkout.version,
              "kube_version": kube_version, "settings": {k: v for k, v in command.settings.items()},
              "addons": {**addons, "secret_files": secrets}}
    started = run_id(command.name, False)
    cluster.start_kubernetes_deploy(started, PLAYBOOK, provisioner.digest(PLAYBOOK), digest(layout), checkout.version,
                                    kube_version, [r.name for r in running], list(addons.get("enabled", [])),
                                    layout)
    store.save(cluster)
    return DeployStarted(started, command.name)


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


def run_kubespray(event: Cluster.KubernetesDeployStarted, store: EventStore, provisioner: Provisioner,
                  live_topology: Any, keys: KeyStore, guests: Any, kubernetes: KubernetesApi,
                  progress: Progress) -> Command:
    cluster: Cluster | None = store.read(event.originator_id)
    if cluster is None:
        raise UnknownObject(f"the cluster of run {event.run_id} is not in the store")
    layout = event.layout
    rows = [r for r in running_rows(live_topology, cluster) if r.name in event.hosts]
    hosts, login = hosts_of(rows), login_of(rows)
    deploy_run = playbook_run(event.run_id, cluster.name, PLAYBOOK, hosts, layout, keys, login)
    outcome = run(provisioner, deploy_run, progress, f"Kubernetes {layout['kube_version']} by Kubespray "
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
        addons_run = playbook_run(f"{event.run_id}-{kind}", cluster.name, playbook, hosts, layout, keys, login,
                                   extravars=extravars)
        more = run(provisioner, addons_run, progress, f"the {kind} add-ons")
        for host, tally in more.hosts.items():
            outcome.hosts.setdefault(host, tally)
        outcome = PlaybookOutcome(outcome.run_id, outcome.status, outcome.rc, outcome.seconds + more.seconds,
                                  outcome.hosts, outcome.artifacts, outcome.failure)
    return MarkKubernetesDeployed(cluster.name, event.run_id, layout["kube_version"], tuple(names), str(kubeconfig),
                                  outcome.seconds, tallies(outcome))


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


COMMAND_HANDLERS: dict[type, Any] = {DeployKubernetes: deploy_kubernetes, MarkKubernetesDeployed: mark_kubernetes_deployed,
                                     MarkKubernetesDeployFailed: mark_kubernetes_deploy_failed}
EVENT_HANDLERS: dict[type, Any] = {Cluster.KubernetesDeployStarted: [(run_kubespray, record_kubespray_failure, False)]}
