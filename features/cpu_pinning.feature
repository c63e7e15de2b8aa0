@libvirt
Feature: VM tuning: pinned vCPUs, each on a host CPU of its own
  `hardware.acceleration.performance.cpu_pinning: true` pins each vCPU of the cluster's VMs to
  a host CPU that no other running pinned VM holds, chosen at each start: on the GPU's NUMA node
  first when the VM has a GPU (its memory kept on that node too), from the highest-numbered CPU
  down; the VM's emulator threads run off its vCPUs' CPUs. The pins are recorded with the start
  (VcpusPinned) and given back with the stop (VcpusUnpinned); `vm status` and `topology` show
  them. A start whose VMs cannot all get CPUs is refused before anything is made, naming who
  holds them. Here on libvirt's test driver: the scenario says how the host's CPUs sit on its
  NUMA nodes. On the real libvirtd: tests/integration/test_real_libvirt.py.

  Background:
    Given a libvirt host for this scenario

  Scenario: Each pinned VM gets CPUs of its own, shown while it runs and given back at its stop
    Given the HPC cluster of "examples/minimal.yaml" on a base image file here
    And its VMs' vCPUs pinned
    And the host's CPUs are 0-3 on NUMA node 0 and 4-7 on NUMA node 1
    When I run "ai-how hpc start {config}"
    Then the exit code is 0
    And no two domains of mini-hpc have a vCPU on the same host CPU, nor an emulator on one of their own
    And "ai-how vm status mini-hpc-controller" says "pinned: vCPUs on host CPUs 3, emulator on 0-2,4-7"
    And "ai-how topology" says "pinned: vCPUs on host CPUs 3"
    When I run "ai-how hpc stop {config}"
    Then the exit code is 0
    And "ai-how vm status mini-hpc-controller" does not say "pinned: vCPUs"
    And the audit log records VcpusPinned 3 times and VcpusUnpinned 3 times

  Scenario: A pinned VM found stopped outside ai-how gives its CPUs back, and another start takes them
    Given the HPC cluster of "examples/minimal.yaml" on a base image file here
    And its VMs' vCPUs pinned
    And the host's CPUs are 0-1 on NUMA node 0
    And its item "clusters.hpc.compute_nodes[1]" set to start by hand
    And I ran "ai-how hpc start {config}"
    When someone runs "virsh destroy mini-hpc-controller"
    And I run "ai-how reconcile"
    Then the exit code is 0
    And "ai-how vm status mini-hpc-controller" does not say "pinned: vCPUs"
    When I run "ai-how vm start mini-hpc-compute-02"
    Then the exit code is 0
    And "ai-how vm status mini-hpc-compute-02" says "pinned: vCPUs on host CPUs 1, emulator on 1"

  Scenario: A GPU VM's vCPUs are pinned on its GPU's NUMA node, and its memory kept there
    Given the HPC cluster of "examples/multi-gpu-clusters.yaml" on a base image file here
    And its VMs' vCPUs pinned
    And the host's CPUs are 0-15 on NUMA node 0 and 16-31 on NUMA node 1
    And GPU 0000:01:00.0 sits on NUMA node 1
    When I run "ai-how hpc start {config}"
    Then the exit code is 0
    And the domain hpc-cluster-compute-01's vCPUs are pinned within host CPUs 16-31 and its memory to NUMA node 1
    And the domain hpc-cluster-compute-02's vCPUs are pinned within host CPUs 0-15 and its memory to NUMA node 0

  Scenario: A start whose pinned VMs cannot all get CPUs is refused before anything is made
    Given the HPC cluster of "examples/minimal.yaml" on a base image file here
    And its VMs' vCPUs pinned
    And the host's CPUs are 0-1 on NUMA node 0
    When I run "ai-how hpc start {config}"
    Then the exit code is 1
    And the errors say "mini-hpc-compute-02 pins 1 vCPUs, but only 0 of this host's 2 CPUs are free: mini-hpc-compute-01 (0), mini-hpc-controller (1) hold the others"
    And the errors say "stop one of them first ('ai-how vm stop NAME'), or give mini-hpc-compute-02's cluster performance.cpu_pinning: false"
    And libvirt has no network, pool or domain of mini-hpc

  Scenario: A pinned VM with more vCPUs than the host has CPUs is refused
    Given the HPC cluster of "examples/minimal.yaml" on a base image file here
    And its VMs' vCPUs pinned
    And its controller's vCPUs set to 4
    And the host's CPUs are 0-1 on NUMA node 0
    When I run "ai-how plan {config}"
    Then the output says "mini-hpc-controller pins 4 vCPUs, but this host has 2 CPUs"
    When I run "ai-how hpc start {config}"
    Then the exit code is 1
    And the errors say "mini-hpc-controller pins 4 vCPUs, but this host has 2 CPUs"

  Scenario: Pinning and hugepages reach a stopped cluster by start --redefine
    Given the HPC cluster of "examples/minimal.yaml" on a base image file here
    And the host's CPUs are 0-3 on NUMA node 0
    And the host has 1536 free hugepages of 2048 KiB
    And I ran "ai-how hpc start {config}"
    And I ran "ai-how hpc stop {config}"
    And its VMs' vCPUs pinned
    And its VMs' memory backed by 2M hugepages
    When I run "ai-how hpc start {config} --redefine"
    Then the exit code is 0
    And the domain mini-hpc-controller's memory is backed by hugepages of 2048 KiB
    And no two domains of mini-hpc have a vCPU on the same host CPU, nor an emulator on one of their own
