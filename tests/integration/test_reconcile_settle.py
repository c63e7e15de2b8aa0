"""Reconcile and a domain libvirtd is still starting (QEMU up, CPUs paused 'starting up'), as
a start whose caller was killed leaves it: the truth is recorded once that start has ended."""

from __future__ import annotations

import pytest

from ai_how.adapters.libvirt import LibvirtHypervisor
from ai_how.app.bootstrap import bootstrap
from ai_how.app.config.loader import parse_config
from ai_how.app.config.plan import plan_clusters
from ai_how.app.lifecycle import reconcile as reconciling
from ai_how.app.ports import DomainState
from ai_how.domain.commands import ProvisionCluster, Reconcile
from ai_how.domain.ids import vm_id
from ai_how.domain.vm import VmState

from .helpers import rival_cluster

COMPUTE = "race-00-compute-01"


class StillStarting(LibvirtHypervisor):
    """The real adapter on a test-driver host, where libvirtd reports COMPUTE as starting for
    its first ``looks`` answers and then as ``ends``."""

    def __init__(self, uri: str, pools, ends: DomainState, looks: int = 3) -> None:
        super().__init__(uri, pools)
        self.ends, self.looks, self.asked = ends, looks, 0

    def domain_state(self, name: str) -> DomainState:
        if name != COMPUTE:
            return super().domain_state(name)
        self.asked += 1
        return DomainState.STARTING if self.asked <= self.looks else self.ends


@pytest.mark.parametrize(("ends", "recorded"), [(DomainState.RUNNING, VmState.RUNNING),
                                                (DomainState.SHUTOFF, VmState.DEFINED)])
def test_reconcile_waits_for_a_start_libvirtd_is_still_making(
        state_dir, libvirt_uri, tmp_path, monkeypatch, ends: DomainState, recorded: VmState) -> None:
    monkeypatch.setattr(reconciling, "SETTLE_POLL_S", 0.01)
    hypervisor = StillStarting(libvirt_uri, tmp_path / "pools", ends)
    bus = bootstrap(state_dir, hypervisor=hypervisor)
    try:
        [planned] = plan_clusters(parse_config(rival_cluster(0), env={}))
        bus.handle(ProvisionCluster(planned.plan))
        report = bus.handle(Reconcile())
        assert hypervisor.asked == hypervisor.looks + 1, "reconcile must look until the start has ended"
        assert bus.store.read(vm_id(COMPUTE)).state == recorded
        assert any(COMPUTE in change for change in report.changes) == (ends == DomainState.RUNNING)
    finally:
        bus.close()
