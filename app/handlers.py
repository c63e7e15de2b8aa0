"""Command handlers: plain functions. Dependencies arrive as keyword arguments by name."""

from __future__ import annotations

from collections.abc import Sequence

from ai_how.domain.cluster import Cluster, ClusterStatus
from ai_how.domain.commands import LeaseGpus, ProvisionCluster, ReleaseGpus
from ai_how.domain.errors import DomainError, GpuLeasedElsewhere, IdentityMismatch, UnknownObject
from ai_how.domain.gpu import Gpu
from ai_how.domain.ids import cluster_id, gpu_id, vm_id
from ai_how.domain.vm import Vm, VmState

from .ports import EventStore


def load_vm(store: EventStore, name: str, *, changing: bool = True) -> Vm:
    """The VM; ``changing=False`` gives the shared copy, for a handler that only reads it."""
    vm = store.get(vm_id(name)) if changing else store.read(vm_id(name))
    if vm is None:
        raise UnknownObject(f"VM {name} is not known; start its cluster first ('ai-how hpc|cloud start CONFIG')")
    return vm


def load_gpu(store: EventStore, pci_address: str) -> Gpu:
    gpu = store.get(gpu_id(pci_address))
    if gpu is None:
        raise UnknownObject(f"GPU {pci_address} is not known; it is registered when a cluster using it is started")
    return gpu


def holder_state(store: EventStore, name: str, at_hand: Sequence[Vm] = ()) -> str | None:
    """The recorded state of the VM that holds a card, for the refusal ("... (running)")."""
    vm = next((v for v in at_hand if v.name == name), None) or store.read(vm_id(name))
    return str(vm.state) if vm is not None else None


def release_held(store: EventStore, vm: Vm, reason: str) -> list[Gpu]:
    """Give back every card ``vm`` holds; the caller saves them with its own changes."""
    held = [g for g in (load_gpu(store, a) for a in vm.gpus) if g.holder == vm.name]
    for gpu in held:
        gpu.release(vm.name, reason)
    return held


def provision_cluster(command: ProvisionCluster, store: EventStore) -> None:
    """Record a configured cluster; a destroyed one of the same name is provisioned again."""
    plan = command.plan
    cluster = store.get(cluster_id(plan.name))
    if cluster is not None and cluster.status != ClusterStatus.DESTROYED:
        if cluster.config_digest == plan.config_digest:
            return
        raise DomainError(
            f"cluster {plan.name} is already recorded with another configuration "
            f"(digest {cluster.config_digest}, the config now gives {plan.config_digest}); "
            f"destroy it first ('ai-how {plan.kind} destroy CONFIG') to apply the new one"
        )
    if cluster is None:
        cluster = Cluster.provision(plan)
    else:
        cluster.reprovision(plan)
    to_save: list[object] = [cluster]
    for spec in plan.gpus:
        gpu = store.get(gpu_id(spec.pci_address))
        if gpu is None:
            to_save.append(Gpu.register(spec))
        else:
            gpu.check_same_card(spec)
    for vm_plan in plan.vms:
        vm = store.get(vm_id(vm_plan.name))
        if vm is None:
            vm = Vm.define(vm_plan.name, vm_plan.cluster, vm_plan.role, vm_plan.spec)
        elif vm.state == VmState.DESTROYED:
            vm.redefine(vm_plan.cluster, vm_plan.role, vm_plan.spec)
        else:
            raise IdentityMismatch(f"VM {vm_plan.name} already belongs to cluster {vm.cluster}; "
                                   f"rename cluster {plan.name} in the config")
        to_save.append(vm)
    store.save(*to_save)


def lease_gpus(command: LeaseGpus, store: EventStore) -> None:
    """All of the VM's cards or none: one save holds every ``GpuLeased``."""
    vm = load_vm(store, command.vm, changing=False)
    gpus = [load_gpu(store, address) for address in vm.gpus]
    for gpu in gpus:
        try:
            gpu.lease(vm.name)
        except GpuLeasedElsewhere as refused:
            raise GpuLeasedElsewhere(gpu.pci_address, refused.holder, holder_state(store, refused.holder)) from None
    store.save(*gpus)


def release_gpus(command: ReleaseGpus, store: EventStore) -> None:
    vm = load_vm(store, command.vm, changing=False)
    if not command.gpus:
        store.save(*release_held(store, vm, command.reason))
        return
    gpus = [load_gpu(store, address) for address in command.gpus]
    for gpu in gpus:
        gpu.release(vm.name, command.reason)
    store.save(*gpus)


COMMAND_HANDLERS = {
    ProvisionCluster: provision_cluster,
    LeaseGpus: lease_gpus,
    ReleaseGpus: release_gpus,
}
