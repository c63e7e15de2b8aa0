"""Deploying the HPC cluster: ``DeployCluster`` records the intent (``ClusterDeployStarted``,
with the SLURM layout it will write); the event's handler runs the playbook through the
``Provisioner``; its outcome is recorded as ``ClusterDeployed`` or ``ClusterDeployFailed``
(the host, the task and what it said), never swallowed.
"""

from __future__ import annotations

from typing import Any

from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.ports import EventStore, KeyStore, PlaybookRun, Provisioner
from ai_how.app.progress import Progress
from ai_how.domain.cluster import Cluster, ClusterKind
from ai_how.domain.commands import Command, DeployCluster, MarkClusterDeployed, MarkClusterDeployFailed
from ai_how.domain.deployment import DeploymentStatus, DeployRun
from ai_how.domain.ids import cluster_id, snapshot_id
from ai_how.domain.snapshot_commands import TakeSnapshot
from ai_how.domain.specs import VmRecord

from ..runs import (
    DeployStarted,
    deploy_outcome,
    digest,
    failure_of,
    run,
    run_id,
    running_cluster,
    running_guests,
    take_over,
    tallies,
)
from .inventory import ansible_inventory, hpc_inventory
from .layout import slurm_layout

PLAYBOOKS = {ClusterKind.HPC: "playbooks/playbook-hpc.yml"}


def deploy_cluster(command: DeployCluster, store: EventStore, provisioner: Provisioner,
                   live_topology: Any, bus: Any) -> DeployStarted:
    provisioner.check()
    cluster = running_cluster(store, command.name, ClusterKind.HPC)
    rows: list[VmRecord] = live_topology.catch_up().vms_of(cluster.name)
    running = [row.name for row in running_guests(rows, command.name, "controller", "hpc-base")]
    if command.limit is not None and command.limit not in running:
        raise UsageError(f"--limit {command.limit}: not a running VM of {command.name} "
                         f"(running: {', '.join(running)})")
    take_over(cluster, provisioner, cluster.mark_deploy_failed)
    playbook = PLAYBOOKS[ClusterKind.HPC]
    layout = slurm_layout(command.name, rows, command.settings)
    run = run_id(command.name, command.check)
    # Every task, without the quick path's comparison, when asked or when no deploy ever ended
    # well (a node never deployed has nothing to compare: the comparison only costs its time).
    full = command.full or cluster.last_deploy is None or cluster.last_deploy.status != DeploymentStatus.DEPLOYED
    if command.snapshot_keep is not None and not command.check and (full or changes(cluster.last_deploy, digest(
            layout), provisioner.digest(playbook))):
        store.save(cluster)  # a deploy take_over recorded as interrupted, first
        bus.handle(TakeSnapshot(cluster.name, snapshot_before(run), reason=f"before deploy {run}",
                                keep=command.snapshot_keep))
        cluster = running_cluster(store, command.name, ClusterKind.HPC)  # as the snapshot left it
    cluster.start_deploy(run, playbook, provisioner.digest(playbook), digest(layout), layout, command.limit,
                         command.check, full)
    store.save(cluster)
    return DeployStarted(run, command.name)


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
    playbook_run = PlaybookRun(event.run_id, cluster.name, event.playbook, ansible_inventory(inventory), extravars,
                               event.limit, event.check)
    outcome = run(provisioner, playbook_run, progress, "checking" if event.check else "deploying")
    return MarkClusterDeployed(cluster.name, event.run_id, outcome.seconds, tallies(outcome))


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


def snapshot_before(run: str) -> str:
    """The snapshot taken before deploy run ``run`` (its time and token; the cluster is the snapshot's)."""
    return f"before-deploy-{run.split('-')[0]}-{run.rsplit('-', 1)[-1]}"


def changes(last: DeployRun | None, layout_digest: str, playbook_digest: str) -> bool:
    """Would a deploy change what the last one left? (Its quick path finds nothing to do otherwise.)"""
    return last is None or (last.config_digest, last.playbook_digest) != (layout_digest, playbook_digest)


def deploy(bus: Any, planned: Any, limit: str | None = None, check: bool = False, full: bool = False,
           snapshot_keep: int | None = None) -> DeployRun:
    """Configure SLURM on a planned HPC cluster that runs; the run as the log has it. With
    ``snapshot_keep``, a deploy that changes something takes a snapshot first, and its failure
    says how to put the cluster back."""
    from .layout import settings_of

    try:
        started = bus.handle(DeployCluster(planned.name, settings_of(planned.section.slurm_config), limit, check,
                                           full, snapshot_keep))
    except InfrastructureError as failure:
        recorded = bus.store.read(cluster_id(planned.name)) if snapshot_keep is not None else None
        last = recorded.last_deploy if recorded is not None else None
        name = snapshot_before(last.run_id) if last is not None else ""
        taken = bus.store.get(snapshot_id(planned.name, name)) if name else None
        if taken is None or taken.deleted:
            raise
        raise InfrastructureError(f"{failure}\nsnapshot {name} holds the cluster as it was before this deploy: "
                                  f"'ai-how snapshot restore {planned.name} {name}' puts it back") from failure
    return deploy_outcome(bus.store, planned.name, started.run_id)


COMMAND_HANDLERS: dict[type, Any] = {DeployCluster: deploy_cluster, MarkClusterDeployed: mark_cluster_deployed,
                    MarkClusterDeployFailed: mark_cluster_deploy_failed}
EVENT_HANDLERS = {Cluster.ClusterDeployStarted: [(run_playbook, record_deploy_failure, False)]}
