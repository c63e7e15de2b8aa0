@libvirt
Feature: Controlling a single VM
  `ai-how vm start|stop|restart|status NAME` act on one VM of a started cluster. Starting
  leases its GPUs, stopping releases them, and a restart keeps them throughout.

  Background:
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"

  Scenario: Stopping a VM releases its GPU
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1"
    Then the exit code is 0
    And the output says "stopped hpc-cluster-compute-01"
    And libvirt shows hpc-cluster-compute-01 defined and shut off
    And "ai-how gpu list" shows GPU 0000:01:00.0 free

  Scenario: Starting a stopped VM leases its GPU again
    Given I ran "ai-how vm stop hpc-cluster-compute-01 --timeout 1"
    When I run "ai-how vm start hpc-cluster-compute-01"
    Then the exit code is 0
    And libvirt shows these domains running:
      | hpc-cluster-compute-01 |
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01

  Scenario: A restart keeps the VM's GPU throughout
    When I run "ai-how vm restart hpc-cluster-compute-01 --timeout 1"
    Then the exit code is 0
    And libvirt shows these domains running:
      | hpc-cluster-compute-01 |
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01
    And "ai-how audit log --json" shows, for VM hpc-cluster-compute-01, in order:
      | type             | payload                            |
      | VmDefined        |                                    |
      | VmStartRequested |                                    |
      | VmStarted        |                                    |
      | VmStopRequested  | {"timeout": 1.0, "restart": true}  |
      | VmStopped        | {"reason": "requested"}            |
      | VmStartRequested |                                    |
      | VmStarted        |                                    |
    And the audit log has exactly 0 "GpuReleased" event for GPU 0000:01:00.0

  Scenario: The status of a VM shows its spec, state, IP and GPUs
    When I run "ai-how vm status hpc-cluster-compute-01"
    Then the exit code is 0
    And the output says "hpc-cluster-compute-01: running"
    And the output says "cluster hpc-cluster · role compute · IP 192.168.100.11"
    And the output says "8 vCPU · 16 GB RAM · 100 GB disk"
    And the output says "GPUs configured: 0000:01:00.0 · held: 0000:01:00.0"

  Scenario: Starting a running VM changes nothing
    When I run "ai-how vm start hpc-cluster-compute-01"
    Then the exit code is 0
    And the output says "hpc-cluster-compute-01 is already running"

  Scenario: An unknown VM is named as such
    When I run "ai-how vm start no-such-vm"
    Then the exit code is 2
    And the errors say "VM no-such-vm is not known; start its cluster first"
