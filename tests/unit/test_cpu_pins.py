"""Choosing host CPUs for pinned vCPUs (domain.cpus): pure, no host."""

from __future__ import annotations

import pytest

from ai_how.domain.cpus import HostCpus, choose, cpu_list
from ai_how.domain.errors import CpusUnavailable

TWO_NODES = {0: [0, 1, 2, 3], 1: [4, 5, 6, 7]}


def test_cpus_are_taken_on_the_gpu_s_node_first_highest_first_and_the_emulator_runs_off_them() -> None:
    pins = choose("a", 2, TWO_NODES, {}, node=0)
    assert (pins.cpus, pins.emulator, pins.node) == ((3, 2), (0, 1, 4, 5, 6, 7), 0)
    assert pins.describe() == "vCPUs on host CPUs 2-3 on NUMA node 0, emulator on 0-1,4-7"


def test_without_a_gpu_the_first_node_is_filled_first_and_a_spill_is_not_said_to_be_on_a_node() -> None:
    pins = choose("a", 5, TWO_NODES, {"b": (3,)}, node=None)
    assert pins.cpus == (2, 1, 0, 7, 6) and pins.node is None and pins.emulator == (4, 5)


def test_with_no_cpu_left_over_the_emulator_shares_the_vm_s_own() -> None:
    assert choose("a", 1, {0: [0, 1]}, {"b": (1,)}, node=None).emulator == (0,)


def test_a_vm_that_cannot_get_its_cpus_is_refused_naming_who_holds_them() -> None:
    with pytest.raises(CpusUnavailable) as refused:
        choose("c", 1, {0: [0, 1]}, {"b": (1,), "a": (0,)}, node=None)
    assert str(refused.value) == "c pins 1 vCPUs, but only 0 of this host's 2 CPUs are free: a (0), b (1) hold the others"
    assert "performance.cpu_pinning: false" in refused.value.hint
    with pytest.raises(CpusUnavailable, match="c pins 4 vCPUs, but this host has 2 CPUs"):
        choose("c", 4, {0: [0, 1]}, {}, node=None)


def test_pins_are_recorded_once_and_given_back() -> None:
    cpus = HostCpus()
    first = cpus.pin("a", 1, {0: [0, 1]}, None)
    assert cpus.pin("a", 1, {0: [0, 1]}, None) == first  # a second start of a running VM records nothing new
    assert cpus.pin("b", 1, {0: [0, 1]}, None).cpus == (0,)
    kinds = [type(e).__name__ for e in cpus.collect_events()]
    assert kinds == ["HostCpusOpened", "VcpusPinned", "VcpusPinned"]
    assert cpus.unpin("a", "vm stopped") and not cpus.unpin("a", "again")
    assert cpus.pins_of("a") is None and cpus.pins_of("b").cpus == (0,)


def test_cpu_lists_are_written_as_linux_writes_them() -> None:
    assert cpu_list([7, 0, 1, 2, 5]) == "0-2,5,7" and cpu_list([]) == ""
