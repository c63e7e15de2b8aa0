@libvirt
Feature: The whole platform
  `ai-how system start|stop|status|destroy CONFIG` treats both clusters as one ML platform:
  HPC starts first and stops last; if the Cloud cluster fails to start, what the command
  started on the HPC side is stopped again.

  Background:
    Given a libvirt host for this scenario

  Scenario: The platform starts HPC first, then Cloud, and stops in the other order
    When I run "ai-how system start examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And the output says "cloud-cluster: started cloud-cluster-control-plane, cloud-cluster-cpu-worker-01; left off (auto_start: false): cloud-cluster-gpu-worker-01"
    And the audit log has "ClusterStarted" for hpc-cluster before cloud-cluster
    When I run "ai-how system stop --timeout 1"
    Then the exit code is 0
    And the audit log has "ClusterStopped" for cloud-cluster before hpc-cluster
    And libvirt shows no running domain of hpc-cluster
    And libvirt shows no running domain of cloud-cluster
    And "ai-how gpu list" shows GPU 0000:01:00.0 free

  Scenario: The overview shows both clusters and who holds each shared GPU
    Given I ran "ai-how system start examples/multi-gpu-clusters.yaml"
    When I run "ai-how system status --json"
    Then the exit code is 0
    And the shared resources say:
      | gpu          | hpc-cluster            | cloud-cluster               | holder                 |
      | 0000:01:00.0 | hpc-cluster-compute-01 | cloud-cluster-gpu-worker-01 | hpc-cluster-compute-01 |
      | 0000:41:00.0 | hpc-cluster-compute-02 |                             | hpc-cluster-compute-02 |
    When I run "ai-how system status"
    Then the output says "Shared resources"

  Scenario: When the Cloud cluster fails, the HPC side that this command started is stopped again
    Given libvirt will refuse to start cloud-cluster-cpu-worker-01
    When I run "ai-how system start examples/multi-gpu-clusters.yaml"
    Then the exit code is 3
    And the errors say "cloud-cluster did not start, so the platform is not up. Rolled back: stopped hpc-cluster-controller, hpc-cluster-compute-01, hpc-cluster-compute-02 again"
    And libvirt shows no running domain of hpc-cluster
    And libvirt shows no running domain of cloud-cluster
    And "ai-how gpu list" shows GPU 0000:01:00.0 free

  Scenario: An HPC cluster that was already running is left running when Cloud fails
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And libvirt will refuse to start cloud-cluster-cpu-worker-01
    When I run "ai-how system start examples/multi-gpu-clusters.yaml"
    Then the exit code is 3
    And the errors say "nothing this command started was left running"
    And libvirt shows these domains running:
      | hpc-cluster-controller | hpc-cluster-compute-01 | hpc-cluster-compute-02 |

  Scenario: A config with one cluster runs that one and says the other is absent
    When I run "ai-how system start examples/minimal-firmware.yaml"
    Then the exit code is 0
    And the errors say "note: examples/minimal-firmware.yaml has no cloud cluster; working on the other one alone"

  Scenario: Destroying the platform asks once, and without a terminal needs --yes
    Given I ran "ai-how system start examples/multi-gpu-clusters.yaml"
    When I run "ai-how system destroy"
    Then the exit code is 2
    And the errors say "refusing to destroy hpc-cluster and cloud-cluster without confirmation"
    When I run "ai-how system destroy --yes --timeout 1"
    Then the exit code is 0
    And libvirt has no network, pool or domain of hpc-cluster
    And libvirt has no network, pool or domain of cloud-cluster
