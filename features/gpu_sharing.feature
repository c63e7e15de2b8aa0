@libvirt @gpu
Feature: One GPU shared by the HPC and the Cloud cluster
  The RTX 4090 at 0000:01:00.0 is configured in the HPC compute node (training) and in the
  Cloud GPU worker (serving). The Cloud GPU worker has `auto_start: false`, so both clusters
  can run at once; the card moves from training to serving by stopping one and starting the
  other. These steps are the shared-GPU validation of CLOUD-0.3.

  Background:
    Given a libvirt host for this scenario

  Scenario: Switching the shared GPU from training to serving
    When I run "ai-how hpc start examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01
    When I run "ai-how cloud start examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And the output says "left off (auto_start: false): cloud-cluster-gpu-worker-01"
    And libvirt shows cloud-cluster-gpu-worker-01 defined and shut off
    And libvirt shows these domains running:
      | hpc-cluster-controller | hpc-cluster-compute-01 | hpc-cluster-compute-02 | cloud-cluster-control-plane | cloud-cluster-cpu-worker-01 |
    When I run "ai-how vm start cloud-cluster-gpu-worker-01"
    Then the exit code is 1
    And the errors say "GPU 0000:01:00.0 is leased to hpc-cluster-compute-01 (running)"
    And the errors say "stop hpc-cluster-compute-01 first ('ai-how vm stop hpc-cluster-compute-01' or stop its cluster)"
    And libvirt shows cloud-cluster-gpu-worker-01 defined and shut off
    When I run "ai-how hpc stop examples/multi-gpu-clusters.yaml --timeout 1"
    Then the exit code is 0
    And "ai-how gpu list" shows GPU 0000:01:00.0 free
    When I run "ai-how vm start cloud-cluster-gpu-worker-01"
    Then the exit code is 0
    And libvirt shows these domains running:
      | cloud-cluster-gpu-worker-01 |
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by cloud-cluster-gpu-worker-01
    And "ai-how audit log --json" shows, for GPU 0000:01:00.0, in order:
      | type              | payload                                                              |
      | GpuRegistered     |                                                                      |
      | GpuLeased         | {"vm": "hpc-cluster-compute-01"}                                     |
      | GpuBoundToVfio    | {"originals": {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}} |
      | GpuReleased       | {"vm": "hpc-cluster-compute-01", "reason": "vm stopped (requested)"} |
      | GpuReturnedToHost | {"drivers": {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}} |
      | GpuLeased         | {"vm": "cloud-cluster-gpu-worker-01"}                                |
      | GpuBoundToVfio    | {"originals": {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}} |

  Scenario: Two clusters that would both start the GPU: the second is refused and starts nothing
    Given the config "examples/multi-gpu-clusters.yaml" with the Cloud GPU worker set to start automatically
    When I run "ai-how hpc start {config}"
    Then the exit code is 0
    When I run "ai-how cloud start {config}"
    Then the exit code is 1
    And the errors say "GPU 0000:01:00.0 is leased to hpc-cluster-compute-01 (running)"
    And libvirt shows no running domain of cloud-cluster
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01
