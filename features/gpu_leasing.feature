@gpu
Feature: Leasing GPUs to VMs
  A GPU can be configured in both clusters, but it is leased to one VM at a time. A lease
  covers the whole card (the GPU and its companion functions such as HDMI audio), a VM with
  several cards gets all of them or none, and only the holder can give a card back.

  Background:
    Given the clusters of "examples/multi-gpu-clusters.yaml" are recorded in the store

  Scenario: A free GPU is leased to the VM that asks for it
    When hpc-cluster-compute-01 asks for its GPUs
    Then the request succeeds
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01

  Scenario: A second VM is refused, and told who holds the GPU
    Given hpc-cluster-compute-01 holds its GPUs
    When cloud-cluster-gpu-worker-01 asks for its GPUs
    Then the request is refused with "GPU 0000:01:00.0 is leased to hpc-cluster-compute-01"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01

  Scenario: The holder gives the GPU back and another VM can take it
    Given hpc-cluster-compute-01 holds its GPUs
    When hpc-cluster-compute-01 releases its GPUs
    And cloud-cluster-gpu-worker-01 asks for its GPUs
    Then the request succeeds
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by cloud-cluster-gpu-worker-01

  Scenario: A VM cannot release a GPU that another VM holds
    Given hpc-cluster-compute-01 holds its GPUs
    When cloud-cluster-gpu-worker-01 releases GPU 0000:01:00.0
    Then the request is refused with "GPU 0000:01:00.0 is leased to hpc-cluster-compute-01, not cloud-cluster-gpu-worker-01; only hpc-cluster-compute-01 can release it"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01

  Scenario: The audio function is leased together with its GPU
    When hpc-cluster-compute-01 asks for its GPUs
    Then "ai-how gpu list" shows GPU 0000:01:00.0 with functions 0000:01:00.0, 0000:01:00.1
    And the audit log has exactly 1 "GpuLeased" event for GPU 0000:01:00.0

  Scenario: A VM with two GPUs gets both or none
    Given the clusters of this config are recorded in the store:
      """
      clusters:
        hpc:
          name: train
          network: {subnet: 10.30.0.0/24, bridge: br-train}
          controller: {cpu_cores: 1, memory_gb: 1, disk_gb: 1, ip: 10.30.0.10}
          compute_nodes:
            - cpu_cores: 4
              memory_gb: 8
              disk_gb: 10
              ip: 10.30.0.11
              pcie_passthrough:
                enabled: true
                devices:
                  - {pci_address: "0000:81:00.0", device_type: gpu, vendor_id: "10de", device_id: "2230"}
                  - {pci_address: "0000:82:00.0", device_type: gpu, vendor_id: "10de", device_id: "2230"}
        cloud:
          name: serve
          network: {subnet: 10.40.0.0/24, bridge: br-serve}
          control_plane: {cpu_cores: 1, memory_gb: 1, disk_gb: 1, ip: 10.40.0.10}
          worker_nodes:
            gpu:
              - cpu_cores: 4
                memory_gb: 8
                disk_gb: 10
                ip: 10.40.0.11
                auto_start: false
                pcie_passthrough:
                  enabled: true
                  devices:
                    - {pci_address: "0000:82:00.0", device_type: gpu, vendor_id: "10de", device_id: "2230"}
      """
    And serve-gpu-worker-01 holds its GPUs
    When train-compute-01 asks for its GPUs
    Then the request is refused with "GPU 0000:82:00.0 is leased to serve-gpu-worker-01"
    And "ai-how gpu list" shows GPU 0000:81:00.0 free
    And the audit log has exactly 0 "GpuLeased" event for GPU 0000:81:00.0

  Scenario: The history of a GPU is in the audit log, in order
    Given hpc-cluster-compute-01 holds its GPUs
    When hpc-cluster-compute-01 releases its GPUs
    And cloud-cluster-gpu-worker-01 asks for its GPUs
    Then "ai-how audit log --json" shows, for GPU 0000:01:00.0, in order:
      | type              | payload                                                 |
      | GpuRegistered     |                                                         |
      | GpuLeased         | {"vm": "hpc-cluster-compute-01"}                        |
      | GpuBoundToVfio    | {"originals": {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}} |
      | GpuReleased       | {"vm": "hpc-cluster-compute-01", "reason": "requested"} |
      | GpuReturnedToHost | {"drivers": {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}} |
      | GpuLeased         | {"vm": "cloud-cluster-gpu-worker-01"}                   |
      | GpuBoundToVfio    | {"originals": {"0000:01:00.0": "nvidia", "0000:01:00.1": "snd_hda_intel"}} |
