"""The application's view of the outside world: one module per external system, each a set of
Protocols the adapters implement and the plain values that cross them. Every name is
re-exported here, so a handler imports ``from ai_how.app.ports import Hypervisor``."""

from .guests import GuestAccess, KeyStore
from .host import PciFunction, PciHost
from .hypervisor import ClusterOnHost, DomainInfo, DomainState, Hypervisor, PrepareReport, TeardownReport
from .images import BuiltImage, ImageBuilder, ImageRecipe
from .kubernetes import KubernetesApi, NodeState
from .mlops import LocalFile, ModelRegistry, ModelServing, ObjectStore, RegisteredModel, S3Access, StoredObject
from .provisioning import HostTally, PlaybookFailure, PlaybookOutcome, PlaybookRun, Provisioner, VenvInstaller
from .slurm import SlurmAt, SlurmControl, SlurmJob
from .snapshots import DiskSnapshots, SnapshotIndex, TakenDisk
from .store import EventStore, LoggedEvent, StoreFiles, Views, ViewsConflict

__all__ = ["BuiltImage", "ClusterOnHost", "DiskSnapshots", "DomainInfo", "DomainState", "EventStore", "GuestAccess", "HostTally",
           "Hypervisor", "ImageBuilder", "ImageRecipe", "KeyStore", "KubernetesApi", "LocalFile", "LoggedEvent",
           "ModelRegistry", "ModelServing", "NodeState", "ObjectStore", "PciFunction", "PciHost", "PlaybookFailure",
           "PlaybookOutcome", "PlaybookRun", "PrepareReport", "Provisioner", "RegisteredModel", "S3Access",
           "SlurmAt", "SlurmControl", "SlurmJob", "SnapshotIndex", "StoreFiles", "StoredObject", "TakenDisk", "TeardownReport", "VenvInstaller", "Views", "ViewsConflict"]
