"""The Cluster aggregate: an HPC or Cloud cluster, its network and its member VMs."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from .deployment import DeploymentStatus, DeployRun, KubernetesState
from .errors import ClusterNotRunning, InvalidTransition
from .ids import cluster_id
from .specs import ClusterPlan


class ClusterStatus(StrEnum):
    PROVISIONED = "provisioned"
    RUNNING = "running"
    STOPPED = "stopped"
    DESTROYED = "destroyed"


class ClusterKind(StrEnum):
    HPC = "hpc"
    CLOUD = "cloud"


class Cluster(Aggregate):
    # Declared, not made by ``@event``, so that a type checker knows them (same stored topics).
    class ClusterDeployStarted(Aggregate.Event):
        run_id: str
        playbook: str
        playbook_digest: str
        config_digest: str
        layout: dict[str, Any]
        limit: str | None
        check: bool
        full: bool = False

    class KubernetesDeployStarted(Aggregate.Event):
        run_id: str
        playbook: str
        playbook_digest: str
        config_digest: str
        limit: str | None
        check: bool
        kubespray: str
        kube_version: str
        hosts: list[str]
        addons: list[str]
        layout: dict[str, Any]

    # The last deployment (a check run is not one); class defaults for logs from before deploys.
    # Stored as their events' JSON-shaped records (see deployment.py); read them as values:
    # ``last_deploy``, ``last_check_run``, ``deploying``, ``kube``.
    deployment: dict[str, Any] | None = None
    last_check: dict[str, Any] | None = None
    host_limits: dict[str, float] | None = None  # from the config it was last started with

    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        return cluster_id(name)

    @classmethod
    def provision(cls, plan: ClusterPlan) -> Cluster:
        return cls(
            name=plan.name,
            kind=plan.kind,
            config_digest=plan.config_digest,
            network=dict(plan.network),
            vms=[vm.name for vm in plan.vms],
        )

    @event("ClusterProvisioned")
    def __init__(
        self, name: str, kind: str, config_digest: str, network: dict[str, str], vms: list[str]
    ) -> None:
        self.name = name
        self.kind = ClusterKind(kind)
        self.config_digest = config_digest
        self.network = network
        self.vms = vms
        self.status = ClusterStatus.PROVISIONED

    def reprovision(self, plan: ClusterPlan) -> None:
        if self.status != ClusterStatus.DESTROYED:
            raise InvalidTransition(f"cluster {self.name} exists; destroy it before provisioning it again")
        self._reprovisioned(config_digest=plan.config_digest, network=dict(plan.network),
                            vms=[vm.name for vm in plan.vms])

    @event("ClusterReprovisioned")
    def _reprovisioned(self, config_digest: str, network: dict[str, str], vms: list[str]) -> None:
        self.config_digest = config_digest
        self.network = network
        self.vms = vms
        self.status = ClusterStatus.PROVISIONED
        self.deployment = None
        self.last_check = None
        self.kubernetes = None

    def reconfigure(self, config_digest: str, vms: list[str]) -> None:
        """A changed config applied (``start --redefine``): its VMs (some added), and the config's
        digest once every VM has the spec it gives (until then, the digest it had)."""
        self._check_alive("redefine")
        if config_digest != self.config_digest or list(vms) != list(self.vms):
            self._reconfigured(config_digest=config_digest, vms=list(vms))

    @event("ClusterReconfigured")
    def _reconfigured(self, config_digest: str, vms: list[str]) -> None:
        self.config_digest = config_digest
        self.vms = vms

    def _check_alive(self, action: str) -> None:
        if self.status == ClusterStatus.DESTROYED:
            raise InvalidTransition(f"cannot {action} cluster {self.name}: it was destroyed")

    def mark_started(self) -> None:
        self._check_alive("start")
        if self.status != ClusterStatus.RUNNING:
            self._started()

    @event("ClusterStarted")
    def _started(self) -> None:
        self.status = ClusterStatus.RUNNING

    def mark_stopped(self) -> None:
        self._check_alive("stop")
        if self.status == ClusterStatus.RUNNING:
            self._stopped()

    @event("ClusterStopped")
    def _stopped(self) -> None:
        self.status = ClusterStatus.STOPPED

    def record_host_limits(self, reserve_gb: float, max_vcpu_ratio: float) -> None:
        """The capacity limits of the config it is started from, for starts that name no config."""
        limits = {"reserve_gb": reserve_gb, "max_vcpu_ratio": max_vcpu_ratio}
        if self.host_limits != limits:
            self._host_limits_recorded(**limits)

    @event("HostLimitsRecorded")
    def _host_limits_recorded(self, reserve_gb: float, max_vcpu_ratio: float) -> None:
        self.host_limits = {"reserve_gb": reserve_gb, "max_vcpu_ratio": max_vcpu_ratio}

    def record_capacity_override(self, vms: list[str], snapshot: dict[str, Any]) -> None:
        """A start over the host's limits, forced: who, and what the host held then."""
        self._capacity_overridden(vms=list(vms), snapshot=snapshot)

    @event("CapacityOverridden")
    def _capacity_overridden(self, vms: list[str], snapshot: dict[str, Any]) -> None:
        pass

    def destroy(self) -> None:
        if self.status != ClusterStatus.DESTROYED:
            self._destroyed()

    @event("ClusterDestroyed")
    def _destroyed(self) -> None:
        self.status = ClusterStatus.DESTROYED

    def restore_disks(self, snapshot: str, deployment: dict[str, Any] | None, kubernetes: dict[str, Any] | None) -> None:
        """Its disks were put back to ``snapshot``: what they hold is that snapshot's deployment."""
        self._check_alive("restore")
        self._disks_restored(snapshot=snapshot, deployment=deployment, kubernetes=kubernetes)

    @event("ClusterDisksRestored")
    def _disks_restored(self, snapshot: str, deployment: dict[str, Any] | None, kubernetes: dict[str, Any] | None) -> None:
        self.deployment, self.kubernetes = deployment, kubernetes

    def start_deploy(self, run_id: str, playbook: str, playbook_digest: str, config_digest: str,
                     layout: dict[str, Any], limit: str | None, check: bool, full: bool = False) -> None:
        """Only a running cluster is deployed; one deploy at a time (the caller makes sure of
        that across processes, and marks an interrupted one failed first)."""
        if self.status != ClusterStatus.RUNNING:
            raise ClusterNotRunning(f"cluster {self.name} is {self.status}, not running: nothing to deploy to")
        self._check_not_deploying()
        self._deploy_started(run_id=run_id, playbook=playbook, playbook_digest=playbook_digest,
                             config_digest=config_digest, layout=layout, limit=limit, check=check, full=full)

    @property
    def last_deploy(self) -> DeployRun | None:
        return DeployRun.of(self.deployment)

    @property
    def last_check_run(self) -> DeployRun | None:
        return DeployRun.of(self.last_check)

    def run(self, run_id: str) -> DeployRun | None:
        """The deploy or check recorded as run ``run_id``, if it is the last of its kind."""
        return next((r for r in (self.last_deploy, self.last_check_run) if r is not None and r.run_id == run_id), None)

    @property
    def deploying(self) -> DeployRun | None:
        """The run in progress, if any."""
        return next((r for r in (self.last_deploy, self.last_check_run) if r is not None and r.running), None)

    def _check_not_deploying(self) -> None:
        if (running := self.deploying) is not None:
            raise InvalidTransition(f"cluster {self.name} is being deployed (run {running.run_id})")

    @property
    def is_deployed(self) -> bool:
        """Its last deployment succeeded and none runs now."""
        last = self.last_deploy
        return self.deploying is None and last is not None and last.status == DeploymentStatus.DEPLOYED

    @event(ClusterDeployStarted)
    def _deploy_started(self, run_id: str, playbook: str, playbook_digest: str, config_digest: str,
                        layout: dict[str, Any], limit: str | None, check: bool, full: bool = False) -> None:
        record = {"run_id": run_id, "status": DeploymentStatus.DEPLOYING.value, "playbook": playbook,
                  "playbook_digest": playbook_digest, "config_digest": config_digest, "limit": limit,
                  "check": check}
        if check:
            self.last_check = record
        else:
            self.deployment = record

    def _running_deploy(self, run_id: str) -> DeployRun:
        running = self.deploying
        if running is None or running.run_id != run_id:
            raise InvalidTransition(f"run {run_id} is not the deploy in progress on cluster {self.name}")
        return running

    def mark_deployed(self, run_id: str, seconds: float, hosts: dict[str, dict[str, int]]) -> None:
        running = self._running_deploy(run_id)
        self._deployed(run_id=run_id, playbook_digest=running.playbook_digest, config_digest=running.config_digest,
                       seconds=round(seconds, 1), hosts=hosts, check=bool(running.check))

    @event("ClusterDeployed")
    def _deployed(self, run_id: str, playbook_digest: str, config_digest: str, seconds: float,
                  hosts: dict[str, dict[str, int]], check: bool) -> None:
        self._finish(check, status=DeploymentStatus.DEPLOYED.value, seconds=seconds, hosts=hosts)

    def mark_deploy_failed(self, run_id: str, host: str, task: str, message: str, seconds: float,
                           hosts: dict[str, dict[str, int]]) -> None:
        running = self._running_deploy(run_id)
        self._deploy_failed(run_id=run_id, host=host, task=task, message=message, seconds=round(seconds, 1),
                            hosts=hosts, check=bool(running.check))

    @event("ClusterDeployFailed")
    def _deploy_failed(self, run_id: str, host: str, task: str, message: str, seconds: float,
                       hosts: dict[str, dict[str, int]], check: bool) -> None:
        self._finish(check, status=DeploymentStatus.FAILED.value, seconds=seconds, hosts=hosts, host=host,
                     task=task, message=message)

    def _finish(self, check: bool, **outcome: Any) -> None:
        record = dict((self.last_check if check else self.deployment) or {}, **outcome)
        if check:
            self.last_check = record
        else:
            self.deployment = record

    # The Cloud cluster as Kubernetes: its nodes, version and kubeconfig (a path, never the file).
    kubernetes: dict[str, Any] | None = None

    def start_kubernetes_deploy(self, run_id: str, playbook: str, playbook_digest: str, config_digest: str,
                                kubespray: str, kube_version: str, hosts: list[str], addons: list[str],
                                layout: dict[str, Any]) -> None:
        """Kubespray's cluster.yml on the running VMs (``hosts``), then the add-ons."""
        if self.kind != ClusterKind.CLOUD:
            raise InvalidTransition(f"cluster {self.name} is an {self.kind} cluster: Kubernetes runs on the cloud one")
        if self.status != ClusterStatus.RUNNING:
            raise ClusterNotRunning(f"cluster {self.name} is {self.status}, not running: nothing to deploy to")
        self._check_not_deploying()
        self._kubernetes_deploy_started(run_id=run_id, playbook=playbook, playbook_digest=playbook_digest,
                                        config_digest=config_digest, limit=None, check=False, kubespray=kubespray,
                                        kube_version=kube_version, hosts=hosts, addons=addons, layout=layout)

    @event(KubernetesDeployStarted)
    def _kubernetes_deploy_started(self, run_id: str, playbook: str, playbook_digest: str, config_digest: str,
                                   limit: str | None, check: bool, kubespray: str, kube_version: str,
                                   hosts: list[str], addons: list[str], layout: dict[str, Any]) -> None:
        self.deployment = {"layout": layout, "run_id": run_id, "status": DeploymentStatus.DEPLOYING.value, "playbook": playbook,
                           "playbook_digest": playbook_digest, "config_digest": config_digest, "limit": None,
                           "check": False, "kubespray": kubespray, "kube_version": kube_version, "addons": addons}

    def mark_kubernetes_deployed(self, run_id: str, kube_version: str, nodes: list[str], kubeconfig: str,
                                 seconds: float, hosts: dict[str, dict[str, int]]) -> None:
        self._running_deploy(run_id)
        self._kubernetes_deployed(run_id=run_id, check=False, kube_version=kube_version, nodes=sorted(nodes),
                                  kubeconfig=kubeconfig, seconds=round(seconds, 1), hosts=hosts)

    @event("KubernetesDeployed")
    def _kubernetes_deployed(self, run_id: str, check: bool, kube_version: str, nodes: list[str], kubeconfig: str,
                             seconds: float, hosts: dict[str, dict[str, int]]) -> None:
        self._finish(False, status=DeploymentStatus.DEPLOYED.value, seconds=seconds, hosts=hosts)
        self.kubernetes = {"version": kube_version, "nodes": list(nodes), "kubeconfig": kubeconfig,
                           "layout": (self.deployment or {}).get("layout", {}), "drained": []}

    def mark_kubernetes_deploy_failed(self, run_id: str, host: str, task: str, message: str, seconds: float,
                                      hosts: dict[str, dict[str, int]]) -> None:
        self._running_deploy(run_id)
        self._kubernetes_deploy_failed(run_id=run_id, check=False, host=host, task=task, message=message,
                                       seconds=round(seconds, 1), hosts=hosts)

    @event("KubernetesDeployFailed")
    def _kubernetes_deploy_failed(self, run_id: str, check: bool, host: str, task: str, message: str,
                                  seconds: float, hosts: dict[str, dict[str, int]]) -> None:
        self._finish(False, status=DeploymentStatus.FAILED.value, seconds=seconds, hosts=hosts, host=host,
                     task=task, message=message)

    @property
    def kube(self) -> KubernetesState | None:
        return KubernetesState.of(self.kubernetes)

    @property
    def nodes(self) -> list[str]:
        return list((self.kubernetes or {}).get("nodes", []))

    def record_node_joined(self, node: str, run_id: str, seconds: float) -> None:
        if self.kubernetes is None:
            raise InvalidTransition(f"cluster {self.name} has no Kubernetes yet: deploy it first")
        if node not in self.vms:
            raise InvalidTransition(f"{node} is not a VM of cluster {self.name}")
        if node not in self.nodes:
            self._node_joined(node=node, run_id=run_id, seconds=round(seconds, 1))

    @event("NodeJoined")
    def _node_joined(self, node: str, run_id: str, seconds: float) -> None:
        self.kubernetes = dict(self.kubernetes or {}, nodes=sorted({*self.nodes, node}))

    def record_node_join_failed(self, node: str, run_id: str, host: str, task: str, message: str) -> None:
        self._node_join_failed(node=node, run_id=run_id, host=host, task=task, message=message)

    @event("NodeJoinFailed")
    def _node_join_failed(self, node: str, run_id: str, host: str, task: str, message: str) -> None:
        pass

    @property
    def drained(self) -> list[str]:
        """Nodes ai-how cordoned and drained before their VM stopped: uncordoned when back."""
        return list((self.kubernetes or {}).get("drained", []))

    def record_node_drained(self, node: str, pods: list[str], seconds: float) -> None:
        if node in self.nodes and node not in self.drained:
            self._node_drained(node=node, pods=pods, seconds=round(seconds, 1))

    @event("NodeDrained")
    def _node_drained(self, node: str, pods: list[str], seconds: float) -> None:
        self.kubernetes = dict(self.kubernetes or {}, drained=sorted({*self.drained, node}))

    def record_node_resumed(self, node: str) -> None:
        if node in self.drained:
            self._node_resumed(node=node)

    @event("NodeResumed")
    def _node_resumed(self, node: str) -> None:
        self.kubernetes = dict(self.kubernetes or {}, drained=[n for n in self.drained if n != node])
