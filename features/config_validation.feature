@config @storeless
Feature: Validating a cluster configuration
  Before anything is created, `ai-how validate CONFIG` checks the cluster.yaml, prints the
  plan (VM names, roles, IPs, GPUs) and reports every GPU configured in both clusters.
  A broken config exits 2 and names the exact field, the bad value and what to do.

  Scenario: The shared-GPU example is valid and its GPU sharing is explained
    When I validate "examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And the plan lists these VMs:
      | name                        | role          | ip             | gpus         | auto_start |
      | hpc-cluster-controller      | controller    | 192.168.100.10 |              | true       |
      | hpc-cluster-compute-01      | compute       | 192.168.100.11 | 0000:01:00.0 | true       |
      | hpc-cluster-compute-02      | compute       | 192.168.100.12 | 0000:41:00.0 | true       |
      | cloud-cluster-control-plane | control-plane | 192.168.200.10 |              | true       |
      | cloud-cluster-cpu-worker-01 | cpu-worker    | 192.168.200.11 |              | true       |
      | cloud-cluster-gpu-worker-01 | gpu-worker    | 192.168.200.12 | 0000:01:00.0 | false      |
    And the output says "GPU 0000:01:00.0 (NVIDIA GeForce RTX 4090) is configured in hpc-cluster-compute-01 (auto_start) and cloud-cluster-gpu-worker-01 (auto_start: false)"
    And the output says "starting both clusters is safe because cloud-cluster-gpu-worker-01 stays off until started by hand"

  Scenario: The minimal example is valid
    When I validate "examples/minimal-firmware.yaml"
    Then the exit code is 0
    And the output says "No GPU is configured in both clusters."

  Scenario: Two VMs that both start automatically with one GPU get a warning with advice
    Given the config "examples/multi-gpu-clusters.yaml"
    And its field "clusters.cloud.worker_nodes.gpu[0].auto_start" set to true
    When I validate it
    Then the exit code is 0
    And the warnings say "hpc-cluster-compute-01 and cloud-cluster-gpu-worker-01 both start automatically"
    And the warnings say "set 'auto_start: false' on one of them"

  Scenario: A misspelt key is refused with a suggestion
    Given the config "examples/multi-gpu-clusters.yaml"
    And its key "clusters.hpc.compute_nodes[0].memory_gb" renamed to "memory_gbs"
    When I validate it
    Then the exit code is 2
    And the errors say "clusters.hpc.compute_nodes[0].memory_gbs: unknown key 'memory_gbs'; did you mean 'memory_gb'?"

  Scenario Outline: A wrong value is refused, naming the field and the value
    Given the config "examples/multi-gpu-clusters.yaml"
    And its field "<field>" set to <value>
    When I validate it
    Then the exit code is 2
    And the errors say "<message>"

    Examples:
      | field                                                          | value             | message                                                                                                       |
      | clusters.hpc.compute_nodes[1].pcie_passthrough.devices[0].pci_address | "0000:41:00.8"    | clusters.hpc.compute_nodes[1].pcie_passthrough.devices[0].pci_address: not a PCI address                   |
      | clusters.hpc.compute_nodes[1].pcie_passthrough.devices[0].pci_address | "41:00.0"         | expected domain:bus:device.function like 0000:01:00.0 (device 00-1f, function 0-7), got '41:00.0'           |
      | clusters.hpc.compute_nodes[1].pcie_passthrough.devices[0].vendor_id   | "nvda"            | clusters.hpc.compute_nodes[1].pcie_passthrough.devices[0].vendor_id: must be 4 hexadecimal digits, like 10de (got 'nvda') |
      | clusters.hpc.compute_nodes[0].ip                                | "192.168.200.50"  | clusters.hpc.compute_nodes[0].ip: IP 192.168.200.50 of hpc-cluster-compute-01 is outside its cluster's subnet 192.168.100.0/24 |
      | clusters.hpc.compute_nodes[0].ip                                | "192.168.100.1"   | IP 192.168.100.1 of hpc-cluster-compute-01 is the gateway (host) address of 192.168.100.0/24                |
      | clusters.hpc.compute_nodes[1].ip                                | "192.168.100.11"  | clusters.hpc.compute_nodes[1].ip: IP 192.168.100.11 of hpc-cluster-compute-02 is already used at clusters.hpc.compute_nodes[0].ip |
      | clusters.cloud.network.subnet                                   | "192.168.100.128/25" | clusters.cloud.network.subnet: subnet 192.168.100.128/25 of cloud-cluster overlaps 192.168.100.0/24 of hpc-cluster |
      | clusters.cloud.network.bridge                                   | "virbr100"        | clusters.cloud.network.bridge: bridge virbr100 is used by both hpc-cluster and cloud-cluster                 |
      | clusters.cloud.network.bridge                                   | "a-very-long-bridge-name" | clusters.cloud.network.bridge: must be a Linux interface name                                       |
      | clusters.hpc.name                                               | "HPC_cluster"     | clusters.hpc.name: must be 2-40 characters of lower-case letters                                             |
      | clusters.hpc.controller.cpu_cores                               | 0                 | clusters.hpc.controller.cpu_cores: Input should be greater than or equal to 1 (got 0)                        |

  Scenario: One PCI address given to two VMs of the same cluster is refused
    Given the config "examples/multi-gpu-clusters.yaml"
    And its field "clusters.hpc.compute_nodes[1].pcie_passthrough" copied from "clusters.hpc.compute_nodes[0].pcie_passthrough"
    When I validate it
    Then the exit code is 2
    And the errors say "clusters.hpc.compute_nodes[1].pcie_passthrough.devices[0].pci_address: PCI device 0000:01:00.0 is given to both hpc-cluster-compute-01 and hpc-cluster-compute-02 in cluster hpc-cluster (also at clusters.hpc.compute_nodes[0].pcie_passthrough.devices[0])"

  Scenario: One PCI address declared with different device ids is refused, naming both places
    Given the config "examples/multi-gpu-clusters.yaml"
    And its field "clusters.cloud.worker_nodes.gpu[0].pcie_passthrough.devices[0].device_id" set to "2204"
    When I validate it
    Then the exit code is 2
    And the errors say "PCI device 0000:01:00.0 is declared with different ids at clusters.hpc.compute_nodes[0].pcie_passthrough.devices[0] and clusters.cloud.worker_nodes.gpu[0].pcie_passthrough.devices[0] (device_id 2684 vs 2204)"

  Scenario: A GPU passed without the audio function that the config gives elsewhere is refused
    Given the config "examples/multi-gpu-clusters.yaml"
    And its item "clusters.cloud.worker_nodes.gpu[0].pcie_passthrough.devices[1]" removed
    When I validate it
    Then the exit code is 2
    And the errors say "cloud-cluster-gpu-worker-01 takes part of card 0000:01:00.0 but not 0000:01:00.1, which the config lists elsewhere; all functions of a card go to one VM together"

  Scenario: An unset environment variable is named
    Given a config file containing:
      """
      clusters:
        hpc:
          base_image_path: ${AI_HOW_TEST_UNSET_IMAGE}
          network: {subnet: 10.10.0.0/24, bridge: br-test}
          controller: {cpu_cores: 1, memory_gb: 1, disk_gb: 1, ip: 10.10.0.10}
      """
    When I validate it
    Then the exit code is 2
    And the errors say "clusters.hpc.base_image_path: environment variable AI_HOW_TEST_UNSET_IMAGE is not set"

  Scenario: Both worker shapes and both IP spellings are accepted
    Given a config file containing:
      """
      clusters:
        cloud:
          name: k8s
          network: {subnet: 10.20.0.0/24, bridge: br-k8s}
          control_plane: {cpu_cores: 2, memory_gb: 2, disk_gb: 10, ip_address: 10.20.0.10}
          worker_nodes:
            - {worker_type: cpu, cpu_cores: 2, memory_gb: 2, disk_gb: 10, ip: 10.20.0.11}
            - {worker_type: cpu, cpu_cores: 2, memory_gb: 2, disk_gb: 10, ip: 10.20.0.12}
          kubernetes_config: {cni: calico, ingress: nginx, storage_class: local-path}
      """
    When I validate it
    Then the exit code is 0
    And the plan lists these VMs:
      | name              | role          | ip         | gpus | auto_start |
      | k8s-control-plane | control-plane | 10.20.0.10 |      | true       |
      | k8s-cpu-worker-01 | cpu-worker    | 10.20.0.11 |      | true       |
      | k8s-cpu-worker-02 | cpu-worker    | 10.20.0.12 |      | true       |

  Scenario: A file that is not YAML is refused with the line
    Given a config file containing:
      """
      clusters:
        hpc: [unclosed
      """
    When I validate it
    Then the exit code is 2
    And the errors say "not valid YAML: line 2, column 17"

  Scenario: The JSON Schema of the config is printed
    When I run "ai-how config schema"
    Then the exit code is 0
    And the output is a JSON Schema that requires "clusters"

  Scenario: The minimal example boots a built image on an isolated network
    When I validate "examples/minimal.yaml"
    Then the exit code is 0
    And the output says "mini-hpc-controller"

  Scenario Outline: A shared host directory is checked before anything starts
    Given the config "examples/minimal.yaml"
    And its field "clusters.hpc.controller.virtio_fs_mounts" set to <mounts>
    When I validate it
    Then the exit code is 2
    And the errors say "<message>"

    Examples:
      | mounts                                                                                                   | message                                                                                                   |
      | [{tag: data, host_path: /nonexistent/datasets, mount_point: /data}]                                      | clusters.hpc.controller.virtio_fs_mounts[0].host_path: /nonexistent/datasets does not exist on this host |
      | [{tag: data, host_path: /tmp, mount_point: /data}, {tag: data, host_path: /tmp, mount_point: /scratch}] | clusters.hpc.controller.virtio_fs_mounts[1].tag: tag 'data' is already used by clusters.hpc.controller.virtio_fs_mounts[0] |
      | [{tag: data, host_path: /tmp, mount_point: data}]                                                        | clusters.hpc.controller.virtio_fs_mounts[0].mount_point: 'data' must be an absolute path in the guest     |
      | [{tag: "bad tag", host_path: /tmp, mount_point: /data}]                                                  | clusters.hpc.controller.virtio_fs_mounts[0].tag: must be 1-36 letters, digits                             |

  Scenario: A config shaped like the predecessor's validates; each key ai-how does not act on is warned about
    When I validate "tests/data/predecessor-shaped.yaml"
    Then the exit code is 0
    And the output says "is valid: 2 cluster(s), 6 VM(s), 1 GPU(s)"
    And the warnings say "clusters.hpc.hardware.acceleration.cpu_features: +vmx and +svm: no CPU has both (Intel's and AMD's virtualisation); the one this host's CPU lacks is left out at each start"
    And the warnings say "clusters.hpc.controller.virtio_fs_mounts[0]: owner, group, mode not acted on: a read-only mount keeps the host folder's own owner and mode"
    And the warnings say "clusters.hpc.storage.beegfs: BeeGFS is not in Debian: its mount_point /mnt/beegfs is the cluster's shared storage (storage.shared, backend virtiofs) on every node"
    And the plan lists these VMs:
      | name                        | role          | ip             | gpus         | auto_start |
      | hpc-cluster-controller      | controller    | 192.168.100.10 |              | true       |
      | hpc-cluster-compute-01      | compute       | 192.168.100.11 | 0000:01:00.0 | true       |
      | hpc-cluster-compute-02      | compute       | 192.168.100.12 |              | true       |
      | cloud-cluster-control-plane | control-plane | 192.168.200.10 |              | true       |
      | cloud-cluster-cpu-worker-01 | cpu-worker    | 192.168.200.11 |              | true       |
      | cloud-cluster-gpu-worker-01 | gpu-worker    | 192.168.200.12 | 0000:01:00.0 | false      |

  Scenario: A cluster's CPU topology is a shape: each VM's vCPUs must divide into its sockets and threads
    Given the config "examples/minimal.yaml"
    And its field "clusters.hpc.hardware" set to {acceleration: {enable_kvm: false, cpu_topology: {sockets: 2, cores: 4, threads: 1}}}
    When I validate it
    Then the exit code is 2
    And the errors say "clusters.hpc.controller.cpu_cores: mini-hpc-controller has 1 vCPUs, which do not divide into the cluster's 2 socket(s) × 1 thread(s) per core (clusters.hpc.hardware.acceleration.cpu_topology): give it cpu_cores 2, or a cpu_topology of its own"

  Scenario: A VM's own CPU topology must add up to its vCPUs
    Given the config "examples/minimal.yaml"
    And its field "clusters.hpc.controller.cpu_topology" set to {sockets: 1, cores: 2, threads: 1}
    When I validate it
    Then the exit code is 2
    And the errors say "clusters.hpc.controller.cpu_topology: 1 socket(s) × 2 cores × 1 thread(s) is 2 vCPUs, but mini-hpc-controller has cpu_cores 1"

  Scenario: A CPU feature libvirt does not know is refused, naming it
    Given the config "examples/minimal.yaml"
    And its field "clusters.hpc.hardware" set to {acceleration: {cpu_features: ["+avx2", "+avx9000"]}}
    When I validate it
    Then the exit code is 2
    And the errors say "clusters.hpc.hardware.acceleration.cpu_features[1]: 'avx9000' is not a CPU feature libvirt knows (e.g. avx2, vmx, svm, pdpe1gb); fix or remove it"

  Scenario: Guest NUMA cells must cover each VM's vCPUs and memory
    Given the config "examples/minimal.yaml"
    And its field "clusters.hpc.hardware" set to {acceleration: {numa_topology: [{cpus: "0", memory_gb: 0.5}, {cpus: "1", memory_gb: 0.5}]}}
    When I validate it
    Then the exit code is 2
    And the errors say "clusters.hpc.hardware.acceleration.numa_topology: the cells give vCPUs 0,1 and 1 GiB, but mini-hpc-controller has 1 vCPUs and 1 GiB: make them agree, or null (one node)"
