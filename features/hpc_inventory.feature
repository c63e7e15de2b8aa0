@libvirt
Feature: The HPC cluster's Ansible inventory comes from what runs
  `ai-how hpc inventory CONFIG` writes the inventory Ansible configures SLURM from: the
  controller, the computes and, among them, the GPU nodes with their cards. It is made from
  the log, so a VM that is stopped is left out, and SSH checks the host keys ai-how pinned.

  Background:
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"

  Scenario: The inventory lists the running VMs in their groups, as ansible-inventory reads it
    When I run "ai-how hpc inventory examples/multi-gpu-clusters.yaml --output {tmp}/inventory"
    Then the exit code is 0
    And ansible-inventory reads "{tmp}/inventory/hosts.yaml" with these groups:
      | group            | hosts                                                                 |
      | slurm_controller | hpc-cluster-controller                                                |
      | slurm_compute    | hpc-cluster-compute-01, hpc-cluster-compute-02                        |
      | slurm_gpu        | hpc-cluster-compute-01, hpc-cluster-compute-02                        |
    And in that inventory hpc-cluster-compute-01 has ansible_host 192.168.100.11, cpus 8 and memory_mb 16384
    And in that inventory hpc-cluster-compute-01 has GPU 0000:01:00.0 "NVIDIA GeForce RTX 4090"
    And in that inventory every host connects as aihow with host key checking on

  Scenario: A stopped compute node is left out
    Given I ran "ai-how vm stop hpc-cluster-compute-02 --timeout 0"
    When I run "ai-how hpc inventory examples/multi-gpu-clusters.yaml --format ini --output {tmp}/inventory"
    Then the exit code is 0
    And ansible-inventory reads "{tmp}/inventory/hosts.ini" with these groups:
      | group            | hosts                  |
      | slurm_controller | hpc-cluster-controller |
      | slurm_compute    | hpc-cluster-compute-01 |
      | slurm_gpu        | hpc-cluster-compute-01 |

  Scenario: An inventory of a cluster that does not run is refused with what to do
    Given I ran "ai-how hpc stop examples/multi-gpu-clusters.yaml --timeout 0"
    When I run "ai-how hpc inventory examples/multi-gpu-clusters.yaml"
    Then the exit code is 2
    And the errors say "the controller of hpc-cluster is not running; start it with 'ai-how hpc start CONFIG'"
