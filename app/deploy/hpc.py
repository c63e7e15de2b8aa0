"""Deploying the HPC cluster: ``DeployCluster`` records the intent (``ClusterDeployStarted``,
with the SLURM layout it will write); the event's handler runs the playbook through the
``Provisioner``; its outcome is recorded as ``ClusterDeployed`` or ``ClusterDeployFailed``
(the host, the task and what it said), never swallowed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.ports import EventStore, KeyStore, PlaybookOutcome, PlaybookRun, Provisioner
from ai_how.app.progress import Progress
from ai_how.domain.cluster import Cluster, ClusterKind, ClusterStatus
from ai_how.domain.commands import Command, DeployCluster, MarkClusterDeployed, MarkClusterDeployFailed
from ai_how.domain.errors import ClusterNotRunning, DeployInProgress
from ai_how.domain.ids import cluster_id
from ai_how.domain.specs import VmSpec

from .inventory import ansible_inventory, hpc_inventory
from .slurm import slurm_layout

PLAYBOOKS = {ClusterKind.HPC: "playbooks/playbook-hpc.yml"}
INTERRUPTED = "interrupted: the ai-how that ran it stopped before the playbook ended"


@dataclass(frozen=True)
class DeployStarted:
    run_id: str
    cluster: str


class DeployFailed(InfrastructureError):
    """The playbook failed: the first failed host and task, and where the run's files are."""

    def __init__(self, cluster: str, outcome: PlaybookOutcome) -> None:
        self.outcome = outcome
        failure = outcome.failure
        where = f" on {failure.host} at task '{failure.task}'" if failure and failure.host != "-" else ""
        said = failure.message if failure else f"ansible-playbook ended {outcome.status}"
        super().__init__(f"deploy of {cluster} failed{where}: {said}\n"
                         f"the run's events and output: {outcome.artifacts}")


def _running_cluster(store: EventStore, name: str) -> Cluster:
    cluster = store.get(cluster_id(name))
    if cluster is None or cluster.status == ClusterStatus.DESTROYED:
        raise ClusterNotRunning(f"cluster {name} is not running here: start it with 'ai-how hpc start CONFIG', "
                                "then deploy it")
    if cluster.status != ClusterStatus.RUNNING:
        raise ClusterNotRunning(f"cluster {name} is {cluster.status}: start it with 'ai-how hpc start CONFIG', "
                                "then deploy it")
    return cluster


def _run_id(cluster: str, check: bool) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{cluster}-{'check' if check else 'deploy'}-{secrets.token_hex(3)}"


def deploy_cluster(command: DeployCluster, store: EventStore, provisioner: Provisioner,
                   live_topology: Any) -> DeployStarted:
    provisioner.check()
    cluster = _running_cluster(store, command.name)
    if cluster.kind != ClusterKind.HPC:
        raise UsageError(f"cluster {command.name} is a {cluster.kind} cluster; 'ai-how hpc deploy' deploys SLURM "
                         "on the HPC cluster")
    topology = live_topology.catch_up()
    rows = [topology.vms[name] for name in cluster.vms if name in topology.vms]
    controller = next((row for row in rows if row["role"] == "controller"), None)
    if controller is None or controller["state"] != "running":
        raise ClusterNotRunning(f"the controller of {command.name} is not running: start it with "
                                f"'ai-how vm start {command.name}-controller', then deploy again")
    running = [row["name"] for row in rows if row["state"] == "running"]
    for row in rows:
        if row["state"] == "running" and not VmSpec.from_dict(row["spec"]).has_os:
            raise UsageError(f"{row['name']} boots no image, so there is no guest to configure; give the cluster "
                             "a base_image (ai-how image build hpc-base) and start it again")
    if command.limit is not None and command.limit not in running:
        raise UsageError(f"--limit {command.limit}: not a running VM of {command.name} "
                         f"(running: {', '.join(running)})")
    if cluster.deploying is not None:
        if provisioner.busy(command.name):
            raise DeployInProgress(f"cluster {command.name} is being deployed by another ai-how "
                                   f"(run {cluster.deploying['run_id']}); wait for it to end")
        cluster.mark_deploy_failed(cluster.deploying["run_id"], "-", "-", INTERRUPTED, 0.0, {})
    playbook = PLAYBOOKS[ClusterKind.HPC]
    layout = slurm_layout(command.name, rows, command.settings)
    config_digest = hashlib.sha256(json.dumps(layout, sort_keys=True).encode()).hexdigest()
    run_id = _run_id(command.name, command.check)
    cluster.start_deploy(run_id, playbook, provisioner.digest(playbook), config_digest, layout, command.limit,
                         command.check, command.full)
    store.save(cluster)
    return DeployStarted(run_id, command.name)


def _hosts(outcome: PlaybookOutcome) -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
    return tuple((host, tuple(tally.as_dict().items())) for host, tally in sorted(outcome.hosts.items()))


def run_playbook(event: Cluster.ClusterDeployStarted, store: EventStore, provisioner: Provisioner,
                 live_topology: Any, keys: KeyStore, progress: Progress) -> Command:
    """Run the playbook against the cluster's running VMs, with the layout the event recorded."""
    cluster = store.read(event.originator_id)
    topology = live_topology.catch_up()
    private_key, _ = keys.platform_key()
    inventory = hpc_inventory(topology, cluster.name, private_key, keys.known_hosts)
    extravars = {**event.layout, "slurm_munge_key_file": str(keys.cluster_secret(cluster.name, "munge.key")),
                 "slurm_quick_check": not event.full}
    if event.layout.get("slurm_accounting"):
        extravars["slurm_dbd_password_file"] = str(keys.cluster_secret(cluster.name, "slurmdbd-password"))
    run = PlaybookRun(event.run_id, cluster.name, event.playbook, ansible_inventory(inventory), extravars,
                      event.limit, event.check)
    progress(cluster.name, f"{'checking' if event.check else 'deploying'} with {event.playbook} (run {event.run_id})")
    outcome = provisioner.run(run, lambda host, status, task: progress(host, f"{status}: {task}"))
    if outcome.status != "successful":
        raise DeployFailed(cluster.name, outcome)
    return MarkClusterDeployed(cluster.name, event.run_id, outcome.seconds, _hosts(outcome))


def failure_of(error: Exception) -> tuple[str, str, str, float, tuple[tuple[str, tuple[tuple[str, int], ...]], ...]]:
    """What a failed run leaves to record: host, task, message, seconds, per-host counts."""
    if isinstance(error, DeployFailed):
        failure = error.outcome.failure
        return (failure.host if failure else "-", failure.task if failure else "-",
                failure.message if failure else error.outcome.status, error.outcome.seconds, _hosts(error.outcome))
    return "-", "-", str(error), 0.0, ()


def record_deploy_failure(event: Cluster.ClusterDeployStarted, error: Exception, store: EventStore) -> Command:
    return MarkClusterDeployFailed(store.read(event.originator_id).name, event.run_id, *failure_of(error))


def mark_cluster_deployed(command: MarkClusterDeployed, store: EventStore) -> None:
    cluster = store.get(cluster_id(command.name))
    cluster.mark_deployed(command.run_id, command.seconds, {h: dict(c) for h, c in command.hosts})
    store.save(cluster)


def mark_cluster_deploy_failed(command: MarkClusterDeployFailed, store: EventStore) -> None:
    cluster = store.get(cluster_id(command.name))
    cluster.mark_deploy_failed(command.run_id, command.host, command.task, command.message, command.seconds,
                               {h: dict(c) for h, c in command.hosts})
    store.save(cluster)


def deploy_outcome(store: EventStore, name: str, run_id: str) -> dict[str, Any]:
    """The recorded outcome of ``run_id``: the cluster's deployment (or check) record."""
    cluster = store.read(cluster_id(name))
    for record in (cluster.deployment, cluster.last_check):
        if record is not None and record["run_id"] == run_id:
            return dict(record)
    raise LookupError(f"run {run_id} of {name} is not recorded")


def deploy(bus: Any, planned: Any, limit: str | None = None, check: bool = False, full: bool = False) -> dict[str, Any]:
    """Configure SLURM on a planned HPC cluster that runs; the run's record as the log has it."""
    from .slurm import settings_of

    started = bus.handle(DeployCluster(planned.name, settings_of(planned.section.slurm_config), limit, check, full))
    return deploy_outcome(bus.store, planned.name, started.run_id)


COMMAND_HANDLERS: dict[type, Any] = {DeployCluster: deploy_cluster, MarkClusterDeployed: mark_cluster_deployed,
                    MarkClusterDeployFailed: mark_cluster_deploy_failed}
EVENT_HANDLERS = {Cluster.ClusterDeployStarted: [(run_playbook, record_deploy_failure, False)]}
