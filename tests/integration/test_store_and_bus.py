"""The bus on a real SQLite event store: atomic saves, lost races, recorded failures."""

from __future__ import annotations

import os
import stat
import threading
import time
from uuid import uuid4

import pytest

from ai_how.adapters.libvirt import LibvirtHypervisor
from ai_how.app.bootstrap import bootstrap
from ai_how.app.bus import EventHandler
from ai_how.app.config.loader import parse_config
from ai_how.app.config.plan import plan_clusters
from ai_how.app.errors import StoreUnavailable
from ai_how.app.lifecycle.leases import cards_and_holders
from ai_how.app.ports import ViewsConflict
from ai_how.app.readside.projection import Topology
from ai_how.app.readside.views import topology_at
from ai_how.app.store import SNAPSHOT_INTERVAL, EventSourcedStore
from ai_how.domain.cluster import ClusterStatus
from ai_how.domain.commands import LeaseGpus, ReleaseGpus, StartCluster
from ai_how.domain.errors import GpuLeasedElsewhere
from ai_how.domain.gpu import Gpu
from ai_how.domain.ids import cluster_id, gpu_id, vm_id
from tests.fakes.sysfs import GPU_CARD, FakeKernel, build_tree

from .helpers import db_file, record_example, record_rivals, rival_cluster


@pytest.fixture
def make_bus(state_dir):
    """Buses on this test's store (SQLite or PostgreSQL), closed at the end."""
    made = []

    def make(**kwargs):
        made.append(bootstrap(state_dir, **kwargs))
        return made[-1]

    yield make
    for bus in made:
        bus.close()


def event_types(bus) -> list[str]:
    return [e.event_type for e in bus.store.iter_log()]


def test_provisioning_is_recorded_once(store_backend, make_bus) -> None:
    bus = make_bus()
    record_example(bus)
    before = bus.store.max_position()
    record_example(bus)  # same config again: nothing new
    assert bus.store.max_position() == before
    assert event_types(bus).count("GpuRegistered") == 2
    assert event_types(bus).count("VmDefined") == 6


def test_state_directory_and_files_are_private(state_dir) -> None:
    bus = bootstrap(state_dir)
    record_example(bus)
    assert stat.S_IMODE(os.stat(state_dir).st_mode) == 0o700
    files = list(state_dir.iterdir())
    assert files, "the store wrote no file"
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_a_corrupt_store_is_one_clear_error(state_dir) -> None:
    state_dir.mkdir(mode=0o700)
    db_file(state_dir).write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnavailable, match="is unreadable .* restore it from a backup or move it aside"):
        bootstrap(state_dir)


class RivalFirstStore(EventSourcedStore):
    """A store whose first save is overtaken by another process leasing the same GPU."""

    def __init__(self, app, rival_bus, rival_vm: str) -> None:
        super().__init__(app)
        self.rival = (rival_bus, rival_vm)
        self.saves = 0

    def save(self, *aggregates) -> None:
        self.saves += 1
        if self.rival is not None:
            rival_bus, rival_vm = self.rival
            self.rival = None
            rival_bus.handle(LeaseGpus(rival_vm))
        super().save(*aggregates)


def test_a_lost_race_is_retried_and_answered_by_the_domain_rule(store_backend, make_bus) -> None:
    setup = make_bus()
    winner, loser = record_rivals(setup, 2)
    rival_bus = make_bus()
    store = RivalFirstStore(make_bus().store.app, rival_bus, winner)
    bus = make_bus(store=store)
    with pytest.raises(GpuLeasedElsewhere, match=f"GPU 0000:01:00.0 is leased to {winner}"):
        bus.handle(LeaseGpus(loser))
    assert store.saves == 1, "the retry must be refused by the rule before it saves again"
    assert event_types(setup).count("GpuLeased") == 1


class CountingHypervisor(LibvirtHypervisor):
    """The real adapter on a private test-driver host, counting what it is asked to do."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []

    def prepare_cluster(self, plan, seeds=None):
        self.asked.append(f"define {plan.name}")
        return super().prepare_cluster(plan, seeds)

    def start_vm(self, network, vm, wait_s, *args, **kwargs):
        self.asked.append(f"start {vm.name}")
        return super().start_vm(network, vm, wait_s, *args, **kwargs)


class RivalAtClusterStarted(EventSourcedStore):
    """A store whose save of ClusterStarted is overtaken once by another process that records
    something else on the same cluster."""

    def __init__(self, app, rival_store) -> None:
        super().__init__(app)
        self.rival_store = rival_store
        self.conflicts = 0

    def save(self, *aggregates) -> None:
        starting = [a for a in aggregates if any(type(e).__name__ == "ClusterStarted" for e in a.pending_events)]
        if starting and self.rival_store is not None:
            rival, self.rival_store = self.rival_store, None
            cluster = rival.get(starting[0].id)
            cluster.record_host_limits(4.0, 2.0)
            rival.save(cluster)
            self.conflicts += 1
        super().save(*aggregates)


def test_a_start_whose_last_save_loses_a_race_defines_and_starts_once(
        store_backend, make_bus, libvirt_uri, tmp_path) -> None:
    [planned] = plan_clusters(parse_config(rival_cluster(0), env={}))
    hypervisor = CountingHypervisor(libvirt_uri, tmp_path / "pools")
    store = RivalAtClusterStarted(make_bus().store.app, make_bus().store)
    bus = make_bus(store=store, hypervisor=hypervisor)
    result = bus.handle(StartCluster(planned.plan))
    assert store.conflicts == 1, "the rival must have overtaken the save of ClusterStarted"
    assert hypervisor.asked[0] == "define race-00"  # the VMs start side by side, in either order
    assert sorted(hypervisor.asked[1:]) == ["start race-00-compute-01", "start race-00-controller"]
    assert sorted(result.started) == ["race-00-compute-01", "race-00-controller"]
    cluster = bus.store.read(cluster_id("race-00"))
    assert cluster.status == ClusterStatus.RUNNING and cluster.host_limits == {"reserve_gb": 4.0,
                                                                               "max_vcpu_ratio": 2.0}
    assert event_types(bus).count("ClusterStarted") == 1


def test_a_failing_event_handler_is_recorded_not_swallowed(store_backend, make_bus) -> None:
    def bind_to_vfio(event) -> None:
        raise OSError("write error on /sys/bus/pci/drivers_probe")

    def release_on_failure(event, error) -> ReleaseGpus:
        return ReleaseGpus(event.vm, reason=f"bind failed: {error}")

    handlers = {Gpu.GpuLeased: [EventHandler(bind_to_vfio, release_on_failure)]}
    bus = make_bus(event_handlers=handlers)
    record_example(bus)
    with pytest.raises(OSError, match="drivers_probe"):
        bus.handle(LeaseGpus("hpc-cluster-compute-01"))
    released = [e for e in bus.store.iter_log() if e.event_type == "GpuReleased"]
    assert [e.payload for e in released] == [
        {"vm": "hpc-cluster-compute-01", "reason": "bind failed: write error on /sys/bus/pci/drivers_probe"}]
    assert bus.store.get(gpu_id("0000:01:00.0")).holder is None


def test_a_card_leased_again_while_its_return_waits_for_the_host_lock_stays_on_vfio(
        store_backend, make_bus, tmp_path) -> None:
    """Two operators on one host: A's return must not take the card from B, who leased it
    just as A gave it back."""
    tree = build_tree(tmp_path / "one-host", GPU_CARD)
    kernel = FakeKernel(tree)
    bus = make_bus(pci_host=kernel)
    record_example(bus)
    bus.handle(LeaseGpus("hpc-cluster-compute-01"))
    assert kernel.function("0000:01:00.0").driver == "vfio-pci"
    other = make_bus()
    with FakeKernel(tree).exclusive():  # another ai-how is moving cards on this host
        releasing = threading.Thread(target=bus.handle, args=(ReleaseGpus("hpc-cluster-compute-01"),))
        releasing.start()
        deadline = time.monotonic() + 10
        while not list(other.store.iter_log(event_types=["GpuReleased"])) and time.monotonic() < deadline:
            time.sleep(0.02)
        card = other.store.get(gpu_id("0000:01:00.0"))
        assert card.holder is None and kernel.function("0000:01:00.0").driver == "vfio-pci", "the return waits"
        card.lease("cloud-cluster-gpu-worker-01")  # B's lease; its own bind would wait for the lock too
        other.store.save(card)
    releasing.join(timeout=10)
    assert not releasing.is_alive()
    assert [kernel.function(a).driver for a in ("0000:01:00.0", "0000:01:00.1")] == ["vfio-pci", "vfio-pci"]
    card = other.store.get(gpu_id("0000:01:00.0"))
    assert card.holder == "cloud-cluster-gpu-worker-01"
    assert card.host_drivers == {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}


def test_a_handler_without_compensation_raises(store_backend, make_bus) -> None:
    def broken(event) -> None:
        raise RuntimeError("adapter down")

    bus = make_bus(event_handlers={Gpu.GpuLeased: [EventHandler(broken)]})
    record_example(bus)
    with pytest.raises(RuntimeError, match="adapter down"):
        bus.handle(LeaseGpus("hpc-cluster-compute-01"))


def test_long_lived_gpus_are_snapshotted_and_read_back_the_same(store_backend, make_bus) -> None:
    bus = make_bus()
    record_example(bus)
    for _ in range(SNAPSHOT_INTERVAL // 2 + 1):
        bus.handle(LeaseGpus("hpc-cluster-compute-01"))
        bus.handle(ReleaseGpus("hpc-cluster-compute-01"))
    bus.handle(LeaseGpus("cloud-cluster-gpu-worker-01"))
    app = bus.store.app
    card = gpu_id("0000:01:00.0")
    recorded = [e.version for e in bus.store.iter_log() if e.aggregate_id == card]
    assert recorded == list(range(1, len(recorded) + 1)) and len(recorded) > SNAPSHOT_INTERVAL
    snapshots = [s.originator_version for s in app.snapshots.get(card)]
    assert snapshots == list(range(SNAPSHOT_INTERVAL, len(recorded) + 1, SNAPSHOT_INTERVAL))
    gpu = make_bus().store.get(card)
    assert gpu.holder == "cloud-cluster-gpu-worker-01"
    assert gpu.version == len(recorded)
    assert gpu.host_drivers == {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}


def test_a_shared_read_is_as_fresh_as_a_get(store_backend, make_bus) -> None:
    mine, other = make_bus(), make_bus()
    record_example(mine)
    card = gpu_id("0000:01:00.0")
    assert mine.store.read(card).holder is None  # now cached in this process
    other.handle(LeaseGpus("hpc-cluster-compute-01"))
    assert mine.store.read(card).holder == "hpc-cluster-compute-01", "read must see the other process's save"
    assert mine.store.read(card) is mine.store.read(card), "read shares the cached aggregate"
    assert mine.store.get(card) is not mine.store.read(card), "get gives a copy to change"


def test_a_command_leaves_the_views_caught_up_to_its_own_events(store_backend, make_bus) -> None:
    bus = make_bus()
    record_example(bus)
    bus.handle(LeaseGpus("hpc-cluster-compute-01"))
    last = bus.store.last_recorded_position()
    assert last == bus.store.max_position() > 0
    topology = bus.dependencies["views"].load()
    assert topology.position == last
    assert topology.gpus["0000:01:00.0"]["holder"] == "hpc-cluster-compute-01"


def tables(topology: Topology) -> dict:
    return {name: topology.table(name) for name in Topology.TABLES}


def test_views_put_back_behind_a_process_are_loaded_again(store_backend, make_bus) -> None:
    """Views restored from an old backup (or emptied) must not get this process's rows on top."""
    bus, other = make_bus(), make_bus()
    record_example(bus)
    bus.handle(LeaseGpus("hpc-cluster-compute-01"))  # this process's topology is as far as the views
    other.dependencies["views"].replace(Topology())  # and now the views hold nothing
    bus.handle(ReleaseGpus("hpc-cluster-compute-01"))
    views = bus.dependencies["views"].load()
    assert views.position == bus.store.max_position()
    assert tables(views) == tables(topology_at(bus.store))


def test_a_guarded_save_writes_nothing_over_newer_views(store_backend, make_bus) -> None:
    bus = make_bus()
    record_example(bus)
    views = bus.dependencies["views"]
    stale = views.load()
    bus.handle(LeaseGpus("hpc-cluster-compute-01"))
    newer = bus.store.max_position()
    stale.gpus["0000:01:00.0"]["holder"] = "someone-else"
    stale.changed.add(("gpus", "0000:01:00.0"))
    base, stale.position = stale.position, stale.position + 1
    with pytest.raises(ViewsConflict) as conflict:
        views.save(stale, since=base)
    assert conflict.value.position == newer
    assert views.load().gpus["0000:01:00.0"]["holder"] == "hpc-cluster-compute-01"


def test_views_kept_by_two_processes_match_a_fold_of_the_log(store_backend, make_bus) -> None:
    first, second = make_bus(), make_bus()
    record_example(first)
    for _ in range(3):
        first.handle(LeaseGpus("hpc-cluster-compute-01"))
        second.handle(ReleaseGpus("hpc-cluster-compute-01"))
        second.handle(LeaseGpus("cloud-cluster-gpu-worker-01"))
        first.handle(ReleaseGpus("cloud-cluster-gpu-worker-01"))
    views = first.dependencies["views"].load()
    assert views.position == first.store.max_position()
    assert tables(views) == tables(topology_at(first.store))


def test_a_graph_read_follows_references_as_they_are_now(store_backend, make_bus) -> None:
    mine, other = make_bus(), make_bus()
    record_example(mine)
    worker, card, holder = vm_id("cloud-cluster-gpu-worker-01"), gpu_id("0000:01:00.0"), "hpc-cluster-compute-01"
    assert set(mine.store.read_graph([worker], cards_and_holders)) == {worker, card}
    other.handle(LeaseGpus(holder))
    queries = []
    query = mine.store._events_after
    mine.store._events_after = lambda versions: queries.append(set(versions)) or query(versions)
    found = mine.store.read_graph([worker], cards_and_holders)
    assert found[card].holder == holder, "the card as the other process left it"
    assert found[vm_id(holder)].name == holder, "and its new holder, followed"
    assert found[card] is mine.store.read(card), "shared, like read"
    assert queries == [{worker, card}], "what was cached came in one query; the new holder was rebuilt"
    queries.clear()
    mine.store.read_graph([worker], cards_and_holders)
    assert queries == [{worker, card, vm_id(holder)}], "all of it expected now: one query"


def test_events_after_gives_each_aggregate_only_its_newer_events(store_backend, make_bus) -> None:
    bus = make_bus()
    record_example(bus)
    bus.handle(LeaseGpus("hpc-cluster-compute-01"))
    card, worker = gpu_id("0000:01:00.0"), vm_id("cloud-cluster-gpu-worker-01")
    stored = bus.store._events_after({card: 1, worker: 0})
    expected = [(e.aggregate_id, e.version) for e in bus.store.iter_log()
                if (e.aggregate_id == card and e.version > 1) or e.aggregate_id == worker]
    assert sorted((r.originator_id, r.originator_version) for r in stored) == sorted(expected)
    assert len([r for r in stored if r.originator_id == card]) >= 2, "the lease and its vfio-pci record"
    many = {uuid4(): 0 for _ in range(250)} | {card: 1}  # more than one statement holds
    assert sorted(r.originator_version for r in bus.store._events_after(many)) == sorted(
        v for a, v in expected if a == card)


def test_views_commit_without_waiting_for_the_disk_and_the_log_does(store_backend, make_bus) -> None:
    """The views are rebuilt from the log after a crash; the log itself must be durable."""
    bus = make_bus()
    views = bus.dependencies["views"]
    if store_backend == "postgres":
        setting = "SHOW synchronous_commit"
        with views.datastore.get_connection() as conn, conn.cursor() as c:
            c.execute(setting)
            assert c.fetchone()["synchronous_commit"] == "off"
        with bus.store.app.recorder.datastore.get_connection() as conn, conn.cursor() as c:
            c.execute(setting)
            assert c.fetchone()["synchronous_commit"] == "on"
    else:
        with views.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA synchronous")
            assert c.fetchone()[0] == 1  # NORMAL
        with bus.store.app.recorder.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA synchronous")
            assert c.fetchone()[0] == 2  # FULL
