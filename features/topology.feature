@libvirt
Feature: What runs where, and who has the GPU
  `ai-how topology` draws clusters, their network, VMs and GPUs from the views — never
  from guesses. A GPU configured in VMs of both clusters is marked as a conflict. With
  `--config` it also shows what the config defines but is not provisioned.

  Background:
    Given a libvirt host for this scenario

  Scenario: Nothing is recorded yet, and nothing is invented
    When I run "ai-how topology"
    Then the exit code is 0
    And the output says "no cluster is recorded; start one with 'ai-how hpc|cloud start CONFIG'"

  Scenario: Both clusters with their networks, VMs, GPUs and the shared-GPU conflict
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    When I run "ai-how topology"
    Then the exit code is 0
    And the output says "network 192.168.100.0/24 · bridge virbr100 · gateway 192.168.100.1"
    And the output says "hpc-cluster-compute-01 · 192.168.100.11 · running · 8 vCPU · 16 GB · compute"
    And the output says "GPU 0000:01:00.0 NVIDIA GeForce RTX 4090 (0000:01:00.0, 0000:01:00.1) · leased to this VM · conflict: cannot run with cloud-cluster-gpu-worker-01 (cloud-cluster)"
    And the output says "cloud-cluster-gpu-worker-01 · 192.168.200.12 · defined · 8 vCPU · 16 GB · gpu-worker · auto_start: false"
    When I run "ai-how topology --json"
    Then the topology JSON says GPU 0000:01:00.0 of cloud-cluster-gpu-worker-01 is "leased to hpc-cluster-compute-01" with a conflict with hpc-cluster-compute-01
    And the topology JSON says GPU 0000:41:00.0 of hpc-cluster-compute-02 is "leased to this VM" with no conflict

  Scenario: With --config, what is configured but not provisioned is shown as such
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    When I run "ai-how topology --config examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And the output says "cloud-cluster (cloud) · not provisioned"
    And the output says "cloud-cluster-gpu-worker-01 · 192.168.200.12 · not provisioned"

  Scenario: A card without a known model name is named by its ids
    Given the config "examples/minimal-firmware.yaml" with a GPU 10de:1234 at 0000:0a:00.0 on mini-hpc-compute-01
    And I ran "ai-how hpc start {config}"
    When I run "ai-how topology"
    Then the output says "GPU 0000:0a:00.0 NVIDIA 10de:1234"
