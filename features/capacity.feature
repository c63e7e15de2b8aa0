@libvirt
Feature: No start takes more of the host than it can give
  Two clusters on one workstation can ask for more memory and vCPUs than it has: the host
  swaps, the guests stall, and a training run dies for no reason it shows. Every start adds
  the vCPUs and memory of what runs (every cluster's VMs) to those it would start, and
  compares them with libvirt's node info: the VMs may use the host's memory less
  global.host_reserve_gb, and global.max_vcpu_ratio vCPUs per host CPU. A start beyond
  either is refused with the numbers and what to stop; --force starts anyway, after a
  warning and a question (--yes without a terminal), and records the decision with what the
  host held then. The test driver's host has 32 CPUs and 256 GiB.

  Background:
    Given a libvirt host for this scenario

  Scenario: A start beyond the host's memory is refused before anything is made
    Given the config "examples/multi-gpu-clusters.yaml" with global "host_reserve_gb: 230"
    When I run "ai-how hpc start {config}"
    Then the exit code is 1
    And the errors say "error: starting hpc-cluster-controller, hpc-cluster-compute-01, hpc-cluster-compute-02 would take more of this host than it may give: memory: 36 GiB for the VMs, of 26 GiB they may use (256 GiB less global.host_reserve_gb 230): 0 GiB running, 36 GiB to start"
    And the errors say "fix: run fewer VMs at once (the largest: hpc-cluster-compute-01 (16 GiB), hpc-cluster-compute-02 (16 GiB), hpc-cluster-controller (4 GiB)), lower their memory_gb, or set global.host_reserve_gb lower. --force starts it anyway (recorded)"
    And libvirt has no network, pool or domain of hpc-cluster
    And the audit log has exactly 0 "ClusterProvisioned" events

  Scenario: What the other cluster runs counts, and the vCPUs too
    Given I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And the config "examples/multi-gpu-clusters.yaml" with global "max_vcpu_ratio: 0.75"
    When I run "ai-how hpc start {config}"
    Then the exit code is 1
    And the errors say "vCPUs: 26 vCPUs for the VMs, of 24 they may use (32 CPUs × global.max_vcpu_ratio 0.75): 8 running, 18 to start"
    And the errors say "lower their cpu_cores, or raise global.max_vcpu_ratio"
    And libvirt has no network, pool or domain of hpc-cluster

  Scenario: The whole platform is held to the host before either cluster starts
    Given the config "examples/multi-gpu-clusters.yaml" with global "host_reserve_gb: 216"
    When I run "ai-how system start {config}"
    Then the exit code is 1
    And the errors say "memory: 52 GiB for the VMs, of 40 GiB they may use (256 GiB less global.host_reserve_gb 216): 0 GiB running, 52 GiB to start"
    And libvirt has no network, pool or domain of hpc-cluster
    And libvirt has no network, pool or domain of cloud-cluster

  Scenario: --force without a terminal needs --yes
    Given the config "examples/multi-gpu-clusters.yaml" with global "host_reserve_gb: 230"
    When I run "ai-how hpc start {config} --force"
    Then the exit code is 2
    And the errors say "warning: starting hpc-cluster-controller, hpc-cluster-compute-01, hpc-cluster-compute-02 would take more of this host"
    And the errors say "error: refusing to start over the host's capacity without confirmation: no terminal to ask; pass --yes"
    And libvirt has no network, pool or domain of hpc-cluster

  Scenario: The operator says no at the terminal
    Given the config "examples/multi-gpu-clusters.yaml" with global "host_reserve_gb: 230"
    And the operator is at a terminal and answers "n"
    When I run "ai-how hpc start {config} --force"
    Then the exit code is 1
    And the errors say "cancelled: nothing was changed"
    And libvirt has no network, pool or domain of hpc-cluster

  Scenario: A forced start runs, and its decision is recorded with the host's numbers
    Given the config "examples/multi-gpu-clusters.yaml" with global "host_reserve_gb: 230"
    When I run "ai-how hpc start {config} --force --yes"
    Then the exit code is 0
    And the errors say "warning: started over the host's capacity; the decision is recorded (CapacityOverridden)"
    And libvirt shows these domains running:
      | hpc-cluster-controller | hpc-cluster-compute-01 | hpc-cluster-compute-02 |
    And the audit log records for hpc-cluster one "CapacityOverridden" with:
      | field           | value                                                                  |
      | vms             | ["hpc-cluster-controller", "hpc-cluster-compute-01", "hpc-cluster-compute-02"] |
      | exceeded        | ["memory"]                                                             |
      | host_memory_gb  | 256                                                                    |
      | memory_gb       | 36                                                                     |
      | memory_limit_gb | 26                                                                     |
      | vcpus           | 18                                                                     |

  Scenario: A single VM's start is held to the limits its cluster was started with
    Given the config "examples/multi-gpu-clusters.yaml" with global "host_reserve_gb: 236"
    And I ran "ai-how cloud start {config}"
    When I run "ai-how vm start cloud-cluster-gpu-worker-01"
    Then the exit code is 1
    And the errors say "memory: 32 GiB for the VMs, of 20 GiB they may use (256 GiB less global.host_reserve_gb 236): 16 GiB running, 16 GiB to start"
    And libvirt shows cloud-cluster-gpu-worker-01 defined and shut off
    When I run "ai-how vm start cloud-cluster-gpu-worker-01 --force --yes"
    Then the exit code is 0
    And the audit log records for cloud-cluster one "CapacityOverridden" with:
      | field    | value                             |
      | vms      | ["cloud-cluster-gpu-worker-01"]   |
      | exceeded | ["memory"]                        |
      | running  | [["cloud-cluster-control-plane", 4, 8.0], ["cloud-cluster-cpu-worker-01", 4, 8.0]] |

  Scenario: A GPU move that would not fit is refused before its holder is drained
    Given the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                                        | value |
      | global.host_reserve_gb                       | 196   |
      | clusters.cloud.worker_nodes.gpu[0].memory_gb | 32    |
    And I ran "ai-how hpc start {config}"
    And I ran "ai-how cloud start {config}"
    When I run "ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01"
    Then the exit code is 1
    And the errors say "starting cloud-cluster-gpu-worker-01 would take more of this host than it may give: memory: 68 GiB for the VMs, of 60 GiB they may use (256 GiB less global.host_reserve_gb 196): 36 GiB running, 32 GiB to start"
    And the errors say "lower their memory_gb, or set global.host_reserve_gb lower; nothing was drained or stopped"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01
    And the audit log has exactly 0 "GpuMoveStarted" events
