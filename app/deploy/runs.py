"""What both deploys share: the run's id, the preamble (the cluster runs; a deploy left behind
by an ai-how that stopped is taken over and recorded as interrupted), the layout's digest,
running a playbook, and what a finished or failed run leaves to record."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ai_how.app.errors import InfrastructureError, UsageError
from ai_how.app.ports import EventStore, PlaybookOutcome, PlaybookRun, Provisioner
from ai_how.app.progress import Progress
from ai_how.domain.cluster import Cluster, ClusterKind, ClusterStatus
from ai_how.domain.deployment import DeployRun
from ai_how.domain.errors import ClusterNotRunning, DeployInProgress
from ai_how.domain.ids import cluster_id
from ai_how.domain.specs import VmRecord

INTERRUPTED = "interrupted: the ai-how that ran it stopped before the playbook ended"
Tallies = tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


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


def running_cluster(store: EventStore, name: str, kind: ClusterKind) -> Cluster:
    """The cluster, refused unless it runs and is of ``kind``."""
    cluster: Cluster | None = store.get(cluster_id(name))
    noun = kind.value
    if cluster is None or cluster.status == ClusterStatus.DESTROYED:
        raise ClusterNotRunning(f"cluster {name} is not running here: start it with 'ai-how {noun} start CONFIG', "
                                "then deploy it")
    if cluster.kind != kind:
        raise UsageError(f"cluster {name} is a {cluster.kind} cluster; 'ai-how {noun} deploy' deploys the {noun} "
                         "cluster")
    if cluster.status != ClusterStatus.RUNNING:
        raise ClusterNotRunning(f"cluster {name} is {cluster.status}: start it with 'ai-how {noun} start CONFIG', "
                                "then deploy it")
    return cluster


def running_guests(rows: list[VmRecord], cluster: str, head: str, image: str) -> list[VmRecord]:
    """The running VMs of a cluster to deploy, once its ``head`` (controller, control plane)
    runs; each must boot a guest (``image``: the one to build) with a static IP."""
    first = next((r for r in rows if r.role == head), None)
    if first is None or not first.running:
        raise ClusterNotRunning(f"the {head.replace('-', ' ')} of {cluster} is not running: start it with "
                                f"'ai-how vm start {cluster}-{head}', then deploy again")
    running = [r for r in rows if r.running]
    for row in running:
        if not row.spec.has_os or not row.spec.ip:
            raise UsageError(f"{row.name} boots no image, so there is no guest to configure; give the cluster "
                             f"a base_image (ai-how image build {image}) and start it again")
    return running


def take_over(cluster: Cluster, provisioner: Provisioner,
              record_interrupted: Callable[[str, str, str, str, float, dict[str, Any]], None]) -> None:
    """A deploy recorded as running is another ai-how's, refused, or one whose ai-how stopped,
    recorded as failed (``record_interrupted``) so that this one can begin."""
    if cluster.deploying is None:
        return
    if provisioner.busy(cluster.name):
        raise DeployInProgress(f"cluster {cluster.name} is being deployed by another ai-how "
                               f"(run {cluster.deploying.run_id}); wait for it to end")
    record_interrupted(cluster.deploying.run_id, "-", "-", INTERRUPTED, 0.0, {})


def digest(layout: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(layout, sort_keys=True).encode()).hexdigest()


def run_id(cluster: str, check: bool) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{cluster}-{'check' if check else 'deploy'}-{secrets.token_hex(3)}"


def run(provisioner: Provisioner, playbook_run: PlaybookRun, progress: Progress, what: str) -> PlaybookOutcome:
    """Run a playbook with each host's tasks as progress; a failed run raises ``DeployFailed``."""
    progress(playbook_run.cluster, f"{what} with {playbook_run.playbook} (run {playbook_run.run_id})")
    outcome = provisioner.run(playbook_run, lambda host, status, task: progress(host, f"{status}: {task}"))
    if outcome.status != "successful":
        raise DeployFailed(playbook_run.cluster, outcome)
    return outcome


def tallies(outcome: PlaybookOutcome) -> Tallies:
    return tuple((host, tuple(tally.as_dict().items())) for host, tally in sorted(outcome.hosts.items()))


def failure_of(error: Exception) -> tuple[str, str, str, float, Tallies]:
    """What a failed run leaves to record: host, task, message, seconds, per-host counts."""
    if isinstance(error, DeployFailed):
        failure = error.outcome.failure
        return (failure.host if failure else "-", failure.task if failure else "-",
                failure.message if failure else error.outcome.status, error.outcome.seconds, tallies(error.outcome))
    return "-", "-", str(error), 0.0, ()


def deploy_outcome(store: EventStore, name: str, run: str) -> DeployRun:
    """The recorded outcome of run ``run``: the cluster's deployment (or check)."""
    found = store.read(cluster_id(name)).run(run)
    if found is None:
        raise LookupError(f"run {run} of {name} is not recorded")
    return found
