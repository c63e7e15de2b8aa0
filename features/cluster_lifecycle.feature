@libvirt
Feature: Cluster lifecycle on libvirt
  `ai-how hpc|cloud start CONFIG` creates the cluster's network, storage pool, disks and
  domains, leases GPUs and starts the auto_start VMs in parallel; `stop` shuts them down and
  releases their GPUs; `status` shows what runs; `destroy` removes everything it made.

  Background:
    Given a libvirt host for this scenario

  Scenario: Starting the Cloud cluster creates its network, disks and VMs
    When I run "ai-how cloud start examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And libvirt has network aihow-cloud-cluster on bridge virbr200 with a DHCP entry for each VM
    And libvirt has storage pool aihow-cloud-cluster with a disk for each VM
    And libvirt shows these domains running:
      | cloud-cluster-control-plane | cloud-cluster-cpu-worker-01 |
    And libvirt shows cloud-cluster-gpu-worker-01 defined and shut off

  Scenario: The status table shows every VM, its state and the auto_start marker
    Given I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    When I run "ai-how cloud status --json"
    Then the exit code is 0
    And the status of cloud-cluster says:
      | vm                          | role          | ip             | state   | auto_start |
      | cloud-cluster-control-plane | control-plane | 192.168.200.10 | running | true       |
      | cloud-cluster-cpu-worker-01 | cpu-worker    | 192.168.200.11 | running | true       |
      | cloud-cluster-gpu-worker-01 | gpu-worker    | 192.168.200.12 | defined | false      |
    When I run "ai-how cloud status"
    Then the output says "manual (auto_start: false)"

  Scenario: Starting again adopts what exists and records nothing new
    Given I ran "ai-how hpc start examples/minimal-firmware.yaml"
    When I run "ai-how hpc start examples/minimal-firmware.yaml"
    Then the exit code is 0
    And the output says "adopted (already defined as configured): mini-hpc-controller, mini-hpc-compute-01, mini-hpc-compute-02"
    And the output says "already running: mini-hpc-controller, mini-hpc-compute-01, mini-hpc-compute-02"
    And the audit log has exactly 3 "VmStarted" events

  Scenario: Restarting a cluster leaves its auto_start: false VMs off
    Given I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    When I run "ai-how cloud stop --timeout 1"
    Then the exit code is 0
    And libvirt shows no running domain of cloud-cluster
    When I run "ai-how cloud start examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And libvirt shows these domains running:
      | cloud-cluster-control-plane | cloud-cluster-cpu-worker-01 |
    And libvirt shows cloud-cluster-gpu-worker-01 defined and shut off

  Scenario: When one VM fails to start, the cluster start is rolled back
    Given libvirt will refuse to start hpc-cluster-compute-02
    When I run "ai-how hpc start examples/multi-gpu-clusters.yaml"
    Then the exit code is 3
    And the errors say "cluster hpc-cluster did not start: cannot start hpc-cluster-compute-02"
    And the errors say "Rolled back: stopped"
    And libvirt shows no running domain of hpc-cluster
    And "ai-how gpu list" shows GPU 0000:01:00.0 free
    And "ai-how gpu list" shows GPU 0000:41:00.0 free
    And "ai-how vm status hpc-cluster-compute-02 --json" says its last error is "cannot start hpc-cluster-compute-02"

  Scenario: A missing base image is reported before anything is created
    Given the config "examples/minimal-firmware.yaml" with base image "/nonexistent/hpc-base.qcow2"
    When I run "ai-how hpc start {config}"
    Then the exit code is 2
    And the errors say "base image /nonexistent/hpc-base.qcow2 of mini-hpc-controller does not exist"
    And libvirt has no network, pool or domain of mini-hpc

  Scenario: Destroying needs a confirmation, and without a terminal it needs --yes
    Given I ran "ai-how hpc start examples/minimal-firmware.yaml"
    When I run "ai-how hpc destroy examples/minimal-firmware.yaml"
    Then the exit code is 2
    And the errors say "refusing to destroy mini-hpc without confirmation: no terminal to ask; pass --yes"
    And libvirt shows these domains running:
      | mini-hpc-controller | mini-hpc-compute-01 | mini-hpc-compute-02 |

  Scenario: Answering no at the terminal changes nothing
    Given I ran "ai-how hpc start examples/minimal-firmware.yaml"
    And the operator is at a terminal and answers "n"
    When I run "ai-how hpc destroy examples/minimal-firmware.yaml"
    Then the exit code is 1
    And the errors say "cancelled: nothing was changed"
    And libvirt shows these domains running:
      | mini-hpc-controller | mini-hpc-compute-01 | mini-hpc-compute-02 |

  Scenario: Destroy removes every domain, disk, pool and network it made and releases the GPUs
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    When I run "ai-how hpc destroy examples/multi-gpu-clusters.yaml --yes --timeout 1"
    Then the exit code is 0
    And the output says "destroyed hpc-cluster: 3 domain(s), 3 disk(s), its storage pool, its network"
    And libvirt has no network, pool or domain of hpc-cluster
    And "ai-how gpu list" shows GPU 0000:01:00.0 free

  Scenario: Destroying a cluster that does not exist says so
    When I run "ai-how hpc destroy examples/minimal-firmware.yaml --yes"
    Then the exit code is 0
    And the output says "mini-hpc does not exist here: nothing to destroy"

  Scenario: A destroyed cluster can be started again
    Given I ran "ai-how hpc start examples/minimal-firmware.yaml"
    And I ran "ai-how hpc destroy examples/minimal-firmware.yaml --yes --timeout 1"
    When I run "ai-how hpc start examples/minimal-firmware.yaml"
    Then the exit code is 0
    And libvirt shows these domains running:
      | mini-hpc-controller | mini-hpc-compute-01 | mini-hpc-compute-02 |
