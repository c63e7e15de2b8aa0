"""The composition root: the only place that knows which adapters implement the ports."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .backup import snapshots as snapshot_handlers
from .bus import EventHandler, MessageBus
from .deploy.kubespray import nodes as kube_nodes
from .deploy.kubespray import saga as cloud_deploy
from .deploy.slurm import nodes as slurm_nodes
from .deploy.slurm import saga as hpc_deploy
from .images import build as image_build
from .images.build import ImagePlaces
from .lifecycle import handlers as lifecycle_handlers
from .lifecycle import handover, sagas
from .ports import (
    DiskSnapshots,
    DomainState,
    EventStore,
    GuestAccess,
    Hypervisor,
    ImageBuilder,
    KeyStore,
    KubernetesApi,
    ModelRegistry,
    ModelServing,
    ObjectStore,
    PciHost,
    Provisioner,
    SlurmAt,
    StoreFiles,
    Views,
)
from .progress import Progress
from .readside.snapshot_queries import SnapshotNames
from .readside.views import LiveTopology
from .serving import models as serving_models
from .serving import push as serving_push
from .settings import resolve_ansible_dir, resolve_image_dir, resolve_libvirt_uri, resolve_pool_root, resolve_state_dir
from .store import AiHowApplication, EventSourcedStore, opening

COMMAND_HANDLERS: dict[type, Any] = {**lifecycle_handlers.COMMAND_HANDLERS, **image_build.COMMAND_HANDLERS,
                    **hpc_deploy.COMMAND_HANDLERS, **cloud_deploy.COMMAND_HANDLERS, **kube_nodes.COMMAND_HANDLERS, **handover.COMMAND_HANDLERS,
                    **serving_models.COMMAND_HANDLERS, **serving_push.COMMAND_HANDLERS,
                    **snapshot_handlers.COMMAND_HANDLERS}
EVENT_HANDLERS: dict[type, list[Any]] = {}
_ALL_EVENT_HANDLERS: tuple[dict[Any, Any], ...] = (lifecycle_handlers.EVENT_HANDLERS, hpc_deploy.EVENT_HANDLERS,
                                                           cloud_deploy.EVENT_HANDLERS, kube_nodes.EVENT_HANDLERS,
                                                           slurm_nodes.EVENT_HANDLERS)
for _handlers in _ALL_EVENT_HANDLERS:
    for _event_type, _entries in _handlers.items():
        EVENT_HANDLERS.setdefault(_event_type, []).extend(_entries)


# What a decision may be given: it reads, decides and saves, so the bus may run it again.
DECISION_DEPENDENCIES = frozenset({"store", "live_topology", "views", "host_capacity", "host_hugepages",
                                   "host_cpu_layout", "numa_node_of"})


def inject(handler: Callable[..., Any], dependencies: Mapping[str, Any]) -> Callable[..., Any]:
    """Bind the handler's keyword parameters by name (Cosmic Python's bootstrap).

    A handler given nothing but the store and the views is a decision, retried whole when its
    save loses a race; one given an adapter or the bus acts on the world and is run once."""
    wanted = inspect.signature(handler).parameters
    bound = {name: dep for name, dep in dependencies.items() if name in wanted}

    def bound_handler(*message: Any) -> Any:
        return handler(*message, **bound)

    bound_handler.retried_whole = (set(bound) <= DECISION_DEPENDENCIES  # type: ignore[attr-defined]
                                   or getattr(handler, "idempotent", False))
    return bound_handler


def store_settings(state_dir: Path, env: Mapping[str, str], url: str | None = None) -> dict[str, str]:
    """SQLite in the state directory, or PostgreSQL when ``--event-store``/``AI_HOW_EVENT_STORE`` names one."""
    from ai_how.adapters.event_store import store_settings as settings_for

    return settings_for(state_dir, url or env.get("AI_HOW_EVENT_STORE") or None)




def open_store(state_dir: Path, env: Mapping[str, str], settings: dict[str, str] | None = None) -> EventStore:
    from ai_how.adapters.event_store import events_after

    settings = settings or store_settings(state_dir, env)

    def make() -> EventStore:
        app = AiHowApplication(env=settings)
        return EventSourcedStore(app, events_after(app.recorder))

    return opening(make, "event store")


def open_views(state_dir: Path, settings: dict[str, str]) -> Views:
    if settings["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        from ai_how.adapters.views import postgres_views

        return opening(lambda: postgres_views(settings), "views")
    from ai_how.adapters.views import SQLiteViews

    return SQLiteViews(state_dir)


def sysfs_host(env: Mapping[str, str]) -> PciHost:
    from ai_how.adapters.sysfs import SysfsPciHost

    return SysfsPciHost(Path(env.get("AI_HOW_SYSFS_ROOT") or "/"))


def libvirt_snapshots(uri: str) -> DiskSnapshots:
    from ai_how.adapters.libvirt.snapshots import LibvirtSnapshots

    return LibvirtSnapshots(uri)


def libvirt_hypervisor(uri: str, state_dir: Path, env: Mapping[str, str]) -> Hypervisor:
    from ai_how.adapters.libvirt import LibvirtHypervisor
    from ai_how.adapters.libvirt.profiles import parse_profiles

    profiles = parse_profiles(env["AI_HOW_START_PROFILES"]) if env.get("AI_HOW_START_PROFILES") else None
    return LibvirtHypervisor(uri, resolve_pool_root(uri, state_dir, env), env.get("AI_HOW_DOMAIN_TYPE") or None,
                             profiles=profiles, memory=state_dir / "start-profile")


VIRTIOFSD = ("/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd")


def find_virtiofsd() -> str | None:
    """Where libvirt will find virtiofsd: Debian 13's package, or Debian 12's QEMU."""
    import shutil

    return next((p for p in VIRTIOFSD if os.access(p, os.X_OK)), None) or shutil.which("virtiofsd")


def ssh_keys(state_dir: Path) -> KeyStore:
    from ai_how.adapters.ssh.keys import SshKeys

    return SshKeys(state_dir)


def guest_access(keys: KeyStore) -> GuestAccess:
    from ai_how.adapters.ssh.client import SshGuests

    return SshGuests(keys)


def slurm_over_ssh(guests: GuestAccess) -> SlurmAt:
    from ai_how.adapters.slurm import SshSlurm

    return lambda login, controller_ip: SshSlurm(guests, login, controller_ip)


def image_builders(env: Mapping[str, str]) -> dict[str, ImageBuilder]:
    from ai_how.adapters.imaging.builder import OfflineImageBuilder
    from ai_how.adapters.imaging.packer import PackerImageBuilder

    return {"mmdebstrap": OfflineImageBuilder(env), "packer": PackerImageBuilder(env)}


def ansible_provisioner(state_dir: Path, env: Mapping[str, str]) -> Provisioner:
    from ai_how.adapters.ansible.runner import AnsibleRunnerProvisioner

    return AnsibleRunnerProvisioner(resolve_ansible_dir(env), state_dir / "runs",
                                    timeout_s=int(env.get("AI_HOW_DEPLOY_TIMEOUT") or 3600))


def kubespray_installer() -> Any:
    from ai_how.adapters.ansible.kubespray_venv import KubesprayVenv

    return KubesprayVenv()


def model_serving() -> ModelServing:
    from ai_how.adapters.kserve.client import KserveServing

    return KserveServing()


def model_registry() -> ModelRegistry:
    from ai_how.adapters.mlflow.registry import MlflowRegistry

    return MlflowRegistry()


def object_store() -> ObjectStore:
    from ai_how.adapters.s3.store import S3ObjectStore

    return S3ObjectStore()


def kubernetes_api() -> KubernetesApi:
    from ai_how.adapters.kubernetes.client import KubernetesClientApi

    return KubernetesClientApi()


def before_stop(kubernetes: Any, slurm: Any) -> Any:
    """Both schedulers' halves of ``BeforeStop``: SLURM's questions first, so that a refused
    stop has drained no Kubernetes node."""
    def prepare(vms: list[str], drain: bool, jobs: Any) -> list[str]:
        notes: list[str] = slurm(vms, jobs)
        return notes + kubernetes(vms, drain, jobs)
    return prepare


def bootstrap(
    state_dir: str | Path | None = None,
    store: EventStore | None = None,
    hypervisor: Hypervisor | None = None,
    views: Views | None = None,
    pci_host: PciHost | None = None,
    libvirt_uri: str | None = None,
    event_store: str | None = None,
    event_handlers: dict[type, list[EventHandler]] | None = None,
    env: Mapping[str, str] | None = None,
    timing: sagas.Timing = sagas.Timing(),
    provisioner: Provisioner | None = None,
    kubernetes: KubernetesApi | None = None,
    guests: GuestAccess | None = None,
    serving: ModelServing | None = None,
    disk_snapshots: DiskSnapshots | None = None,
) -> MessageBus:
    env = os.environ if env is None else env
    state = resolve_state_dir(state_dir, env)
    if store is None or views is None:
        settings = store_settings(state, env, event_store)
        store = store if store is not None else open_store(state, env, settings)
        views = views if views is not None else open_views(state, settings)
    pci_host = pci_host if pci_host is not None else sysfs_host(env)
    if hypervisor is None:
        hypervisor = libvirt_hypervisor(resolve_libvirt_uri(libvirt_uri, env), state, env)
    bus = MessageBus(store, {}, {})
    live = LiveTopology(store, views)
    keys = ssh_keys(state)
    guests = guests if guests is not None else guest_access(keys)
    uri = getattr(hypervisor, "uri", None) or resolve_libvirt_uri(libvirt_uri, env)
    kubernetes = kubernetes if kubernetes is not None else kubernetes_api()
    slurm_at = slurm_over_ssh(guests)
    progress = Progress()
    dependencies = {"store": store, "hypervisor": hypervisor, "views": views, "live_topology": live,
                    "pci_host": pci_host, "bus": bus, "timing": timing, "keys": keys, "guests": guests,
                    "host_capacity": lambda: hypervisor.host_capacity(),
                    "host_hugepages": lambda: hypervisor.free_hugepages(),
                    "host_cpu_layout": lambda: hypervisor.host_cpu_layout(),
                    "numa_node_of": lambda address: getattr(pci_host.function(address), "numa_node", None),
                    "image_builders": image_builders(env), "progress": progress,
                    "kubernetes": kubernetes,
                    "before_stop": before_stop(kube_nodes.DrainBeforeStop(store, kubernetes, progress),
                                               slurm_nodes.JobsBeforeStop(store, slurm_at, progress)),
                    "slurm_at": slurm_at, "resume_holder": handover.ResumeHolder(store, slurm_at),
                    "state_dir": state, "kubespray_installer": kubespray_installer(),
                    "serving": serving if serving is not None else model_serving(),
                    "registry": model_registry(), "objects": object_store(),
                    "provisioner": provisioner if provisioner is not None else ansible_provisioner(state, env),
                    "image_places": ImagePlaces(resolve_ansible_dir(env), resolve_image_dir(uri, state, env)),
                    "disk_snapshots": disk_snapshots if disk_snapshots is not None else libvirt_snapshots(uri),
                    "snapshot_names": SnapshotNames(live)}
    dependencies["settle_snapshots"] = lambda: snapshot_handlers.settle_restores(
        store, dependencies["disk_snapshots"], dependencies["snapshot_names"],
        lambda vm: hypervisor.domain_state(vm) in (DomainState.SHUTOFF, DomainState.CRASHED))
    bus.command_handlers = {cmd: inject(fn, dependencies) for cmd, fn in COMMAND_HANDLERS.items()}
    wired: dict[type, list[EventHandler]] = {}
    for event_type, entries in EVENT_HANDLERS.items():
        wired[event_type] = [EventHandler(inject(fn, dependencies), inject(fail, dependencies) if fail else None,
                                          concurrent) for fn, fail, concurrent in entries]
    for event_type, extra in (event_handlers or {}).items():
        wired.setdefault(event_type, []).extend(extra)
    bus.event_handlers = wired
    bus.dependencies = dependencies
    # Up to this process's own last event: the others' later ones are theirs to project.
    def catch_up() -> None:
        live.catch_up(store.last_recorded_position())

    bus.after_command = catch_up
    return bus


def store_files(state_dir: Path | None, env: Mapping[str, str], url: str | None = None) -> tuple[Path, StoreFiles]:
    """The resolved state directory and its event store's database, for ``ai-how store``."""
    from ai_how.adapters.store_files import EventStoreFiles

    state = resolve_state_dir(state_dir, env)
    return state, EventStoreFiles(store_settings(state, env, url))


def opened_store(state_dir: Path, env: Mapping[str, str], url: str | None = None) -> tuple[EventStore, Views]:
    """The event store and its views, without a bus (SQLite in ``state_dir`` unless ``url``)."""
    settings = store_settings(state_dir, env, url)
    return open_store(state_dir, env, settings), open_views(state_dir, settings)
