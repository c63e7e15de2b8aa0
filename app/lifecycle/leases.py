"""Command handlers: plain functions. Dependencies arrive as keyword arguments by name."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ai_how.app.ports import EventStore
from ai_how.domain.cluster import Cluster, ClusterStatus
from ai_how.domain.commands import LeaseGpus, ProvisionCluster, ReleaseGpus
from ai_how.domain.errors import DomainError, GpuLeasedElsewhere, IdentityMismatch, UnknownObject
from ai_how.domain.gpu import Gpu
from ai_how.domain.ids import cluster_id, gpu_id, vm_id
from ai_how.domain.vm import Vm, VmState


def unknown_vm(name: str) -> UnknownObject:
    return UnknownObject(f"VM {name} is not known; start its cluster first ('ai-how hpc|cloud start CONFIG')")


def unknown_gpu(pci_address: str) -> UnknownObject:
    return UnknownObject(f"GPU {pci_address} is not known; it is registered when a cluster using it is started")


def load_vm(store: EventStore, name: str) -> Vm:
    vm = store.get(vm_id(name))
    if vm is None:
        raise unknown_vm(name)
    return vm


def load_gpu(store: EventStore, pci_address: str) -> Gpu:
    gpu = store.get(gpu_id(pci_address))
    if gpu is None:
        raise unknown_gpu(pci_address)
    return gpu


def cards_of(aggregate: Any) -> list[UUID]:
    """A VM's cards: what releasing looks at."""
    return [gpu_id(a) for a in aggregate.gpus] if isinstance(aggregate, Vm) else []


def cards_and_holders(aggregate: Any) -> list[UUID]:
    """A VM's cards and each card's holder: what deciding a lease looks at (the holder is
    named, with its state, in a refusal)."""
    if isinstance(aggregate, Gpu):
        return [vm_id(aggregate.holder)] if aggregate.holder is not None else []
    return cards_of(aggregate)


@dataclass
class WithCards:
    """VMs loaded together with their cards, one copy of each card even where VMs share it.

    The cards are copies to change; the VMs are copies only if asked for (``changing_vms``);
    ``shared`` holds the rest as read, such as the cards' holders.
    """

    vms: list[Vm]
    gpus: dict[str, Gpu]  # by PCI address
    shared: dict[UUID, Any]

    def cards(self, vm: Vm) -> list[Gpu]:
        return [self.gpus[address] for address in vm.gpus]

    def holder_state(self, name: str) -> str | None:
        """The state of the VM holding a card, as changed here or else as read."""
        holder = next((vm for vm in self.vms if vm.name == name), None) or self.shared.get(vm_id(name))
        return str(holder.state) if holder is not None else None


def load_with_cards(store: EventStore, names: Sequence[str], *, holders: bool = False,
                    changing_vms: bool = False) -> WithCards:
    """The VMs, their cards and (``holders``) the cards' holders, in one round trip when
    this process has seen them before."""
    names = list(dict.fromkeys(names))
    shared = store.read_graph([vm_id(n) for n in names], cards_and_holders if holders else cards_of)
    missing = [n for n in names if vm_id(n) not in shared]
    if missing:
        raise unknown_vm(missing[0])
    vms = [shared[vm_id(n)] for n in names]
    missing = [a for vm in vms for a in vm.gpus if gpu_id(a) not in shared]
    if missing:
        raise unknown_gpu(missing[0])
    if changing_vms:
        vms = [copy.deepcopy(vm) for vm in vms]
    gpus = {a: copy.deepcopy(shared[gpu_id(a)]) for a in dict.fromkeys(a for vm in vms for a in vm.gpus)}
    return WithCards(vms, gpus, shared)


def release_held(store: EventStore, vm: Vm, reason: str) -> list[Gpu]:
    """Give back every card ``vm`` holds; the caller saves them with its own changes."""
    held = [g for g in store.read_graph([gpu_id(a) for a in vm.gpus], cards_of).values() if g.holder == vm.name]
    return release_from(vm, [copy.deepcopy(g) for g in held], reason)


def release_from(vm: Vm, cards: Sequence[Gpu], reason: str) -> list[Gpu]:
    """Give back those of ``cards`` (copies) that ``vm`` holds; the caller saves them."""
    held = [g for g in cards if g.holder == vm.name]
    for gpu in held:
        gpu.release(vm.name, reason)
    return held


def provision_cluster(command: ProvisionCluster, store: EventStore) -> None:
    """Record a configured cluster; a destroyed one of the same name is provisioned again."""
    plan = command.plan
    cluster = store.get(cluster_id(plan.name))
    if cluster is not None and cluster.status != ClusterStatus.DESTROYED:
        if cluster.config_digest == plan.config_digest or command.changed_ok:
            return
        error = DomainError(
            f"cluster {plan.name} is already recorded with another configuration "
            f"(digest {cluster.config_digest}, the config now gives {plan.config_digest})")
        error.hint = (f"'ai-how plan CONFIG' shows the change; 'ai-how {plan.kind} start CONFIG --redefine' applies "
                      "it to the VMs that are shut off")
        raise error
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
    loaded = load_with_cards(store, [command.vm], holders=True)
    vm = loaded.vms[0]
    gpus = loaded.cards(vm)
    for gpu in gpus:
        try:
            gpu.lease(vm.name)
        except GpuLeasedElsewhere as refused:
            raise GpuLeasedElsewhere(gpu.pci_address, refused.holder, loaded.holder_state(refused.holder)) from None
    store.save(*gpus)


def release_gpus(command: ReleaseGpus, store: EventStore) -> None:
    loaded = load_with_cards(store, [command.vm])
    vm = loaded.vms[0]
    if not command.gpus:
        store.save(*release_from(vm, loaded.cards(vm), command.reason))
        return
    gpus = [loaded.gpus.get(address) or load_gpu(store, address) for address in command.gpus]
    for gpu in gpus:
        gpu.release(vm.name, command.reason)
    store.save(*gpus)


COMMAND_HANDLERS: dict[type, Any] = {
    ProvisionCluster: provision_cluster,
    LeaseGpus: lease_gpus,
    ReleaseGpus: release_gpus,
}
