@libvirt
Feature: VM tuning: hugepages behind a VM's memory
  `hardware.acceleration.performance.enable_hugepages: true` (or `memory_backing: hugepages`)
  backs every VM of the cluster with hugepages of `hugepage_size` (2M or 1G). The host must
  have them reserved and free: a start counts what its VMs need against what the host has
  free and refuses, before anything is made, with both numbers and the command that reserves
  the rest; `host check CONFIG` says the same. Here on libvirt's test driver, whose host has
  no hugepage pool: the scenario says what the host's pool holds. On the real libvirtd:
  tests/integration/test_real_libvirt.py.

  Background:
    Given a libvirt host for this scenario
    And the HPC cluster of "examples/minimal.yaml" on a base image file here
    And its VMs' memory backed by 2M hugepages

  Scenario: With the hugepages free, each VM's memory is backed by them
    Given the host has 1536 free hugepages of 2048 KiB
    When I run "ai-how hpc start {config}"
    Then the exit code is 0
    And the domain mini-hpc-controller's memory is backed by hugepages of 2048 KiB

  Scenario: Without enough free hugepages the start is refused before anything is made
    Given the host has 600 free hugepages of 2048 KiB
    When I run "ai-how hpc start {config}"
    Then the exit code is 1
    And the errors say "hugepages: 2 MiB: 1536 pages of 2 MiB for mini-hpc-controller (512), mini-hpc-compute-01 (512), mini-hpc-compute-02 (512), 600 free: nothing was started"
    And the errors say "reserve 936 more: echo $(( $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages) + 936 )) > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
    And libvirt has no network, pool or domain of mini-hpc

  Scenario: Hugepages of a size the host does not offer are refused
    Given its VMs' memory backed by 1G hugepages
    And the host has 1536 free hugepages of 2048 KiB
    When I run "ai-how hpc start {config}"
    Then the exit code is 1
    And the errors say "want 1 GiB hugepages, which this host does not offer"

  Scenario: Memory that is not a whole number of hugepages is refused by validate
    Given its VMs' memory backed by 1G hugepages
    And its controller's memory set to 1.5 GiB
    When I run "ai-how validate {config}"
    Then the exit code is 2
    And the errors say "clusters.hpc.controller.memory_gb: mini-hpc-controller's 1.5 GiB is not a whole number of 1 GiB hugepages"
