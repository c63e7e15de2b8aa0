@libvirt @gpu
Feature: Is this host ready to pass its GPUs through?
  Passthrough fails in ways users cannot diagnose. `ai-how host check [CONFIG]` reads the same
  sysfs files that libvirt, Proxmox and driverctl read and says exactly what to fix, before a
  start fails. Around each lease ai-how binds the card's whole IOMMU group to vfio-pci and
  gives it back to its host drivers afterwards.

  Background:
    Given a libvirt host for this scenario

  Scenario: A ready host
    Given a host with the example's cards on their usual drivers
    When I run "ai-how host check examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And the output says "pass  IOMMU: enabled: the kernel has IOMMU groups"
    And the output says "pass  vfio-pci: the vfio-pci driver is loaded"
    And the output says "ready: 0 failed"
    And the output says "pass  capacity: memory: 52 GiB for the VMs, of 254 GiB they may use (256 GiB less global.host_reserve_gb 2): 0 GiB running, 52 GiB to start"
    And the output says "pass  capacity: vCPUs: 26 vCPUs for the VMs, of 128 they may use (32 CPUs × global.max_vcpu_ratio 4): 0 running, 26 to start"

  Scenario: What runs and what a start would add do not fit the host
    Given a host with the example's cards on their usual drivers
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And the config "examples/multi-gpu-clusters.yaml" with global "host_reserve_gb: 220, max_vcpu_ratio: 0.5"
    When I run "ai-how host check {config}"
    Then the exit code is 1
    And the output says "FAIL  capacity: memory: 52 GiB for the VMs, of 36 GiB they may use (256 GiB less global.host_reserve_gb 220): 16 GiB running, 36 GiB to start"
    And the output says "fix: run fewer VMs at once (the largest: hpc-cluster-compute-01 (16 GiB), hpc-cluster-compute-02 (16 GiB), cloud-cluster-control-plane (8 GiB)), lower their memory_gb, or set global.host_reserve_gb lower"
    And the output says "FAIL  capacity: vCPUs: 26 vCPUs for the VMs, of 16 they may use (32 CPUs × global.max_vcpu_ratio 0.5): 8 running, 18 to start"

  Scenario: The IOMMU is off
    Given a host with the example's cards and the IOMMU off
    When I run "ai-how host check examples/multi-gpu-clusters.yaml"
    Then the exit code is 1
    And the output says "FAIL  IOMMU: not enabled: the kernel has no IOMMU groups"
    And the output says "add 'intel_iommu=on iommu=pt' to GRUB_CMDLINE_LINUX in /etc/default/grub, run 'update-grub' and reboot"

  Scenario: The audio function of the card is missing from the VM
    Given a host with the example's cards on their usual drivers
    And the config "examples/multi-gpu-clusters.yaml" without the audio function of hpc-cluster-compute-01
    When I run "ai-how host check {config}"
    Then the exit code is 1
    And the output says "shares IOMMU group 12 with 0000:01:00.1 (10de:22ba, driver snd_hda_intel), which hpc-cluster-compute-01 does not get: the group is not viable"
    And the output says "fix: add 0000:01:00.1 to hpc-cluster-compute-01's pcie_passthrough devices"

  Scenario: The card is on nouveau
    Given a host with the example's cards and 0000:01:00.0 on nouveau
    When I run "ai-how host check examples/multi-gpu-clusters.yaml"
    Then the exit code is 1
    And the output says "0000:01:00.0: is bound to nouveau, which does not let go of the card"
    And the output says "fix: blacklist it: echo 'blacklist nouveau' > /etc/modprobe.d/blacklist-nouveau.conf"

  @storeless
  Scenario: The console card and a card without reset are warned about
    Given a host with the example's cards and 0000:41:00.0 driving the console without a reset method
    When I run "ai-how host check"
    Then the exit code is 0
    And the output says "warn  0000:41:00.0: drives the host console (boot_vga)"
    And the output says "warn  0000:41:00.0: offers no reset method"

  @storeless
  Scenario: The inventory lists each GPU with its companions
    Given a host with the example's cards on their usual drivers
    When I run "ai-how gpu inventory --json"
    Then the exit code is 0
    And the inventory lists 0000:01:00.0 as "NVIDIA GeForce RTX 4090" in IOMMU group 12 with companion 0000:01:00.1

  Scenario: Around a lease, the whole group goes to vfio-pci and comes back
    Given a host with the example's cards on their usual drivers
    When I run "ai-how hpc start examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And on the host 0000:01:00.0 and 0000:01:00.1 are bound to vfio-pci
    When I run "ai-how hpc stop --timeout 1"
    Then on the host 0000:01:00.0 is bound to nvidia and 0000:01:00.1 to snd_hda_intel

  Scenario: A bind failure during a VM start leaves no lease and restores the drivers
    Given a host with the example's cards on their usual drivers
    And the kernel will refuse to bind 0000:01:00.1 to vfio-pci
    When I run "ai-how hpc start examples/multi-gpu-clusters.yaml"
    Then the exit code is 3
    And the errors say "cannot hand GPU 0000:01:00.0 to vfio-pci: writing '0000:01:00.1' to"
    And the errors say "drivers_probe failed: Invalid argument"
    And "ai-how gpu list" shows GPU 0000:01:00.0 free
    And on the host 0000:01:00.0 is bound to nvidia and 0000:01:00.1 to snd_hda_intel
    And "ai-how vm status hpc-cluster-compute-01 --json" says its last error is "cannot hand GPU 0000:01:00.0 to vfio-pci"

  Scenario: A card left on vfio-pci after a failed return is given back by reconcile
    Given a host with the example's cards on their usual drivers
    And I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And the kernel will refuse to unbind 0000:01:00.0 from vfio-pci
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1"
    Then the exit code is 3
    And the errors say "Device or resource busy"
    And "ai-how gpu list" shows GPU 0000:01:00.0 free
    And on the host 0000:01:00.0 and 0000:01:00.1 are bound to vfio-pci
    When the device is no longer busy
    And I run "ai-how reconcile"
    Then the exit code is 0
    And the output says "GPU 0000:01:00.0 was free but still on vfio-pci; given back to its host drivers"
    And on the host 0000:01:00.0 is bound to nvidia and 0000:01:00.1 to snd_hda_intel

  Scenario: Nested virtualisation, CPU features and pinned vCPUs against this host
    Given a host with the example's cards whose Intel CPU has "fpu vmx sse4_2 avx2" and kvm_intel nested=N
    And the config "tests/data/predecessor-shaped.yaml" with these fields:
      | field                                          | value |
      | clusters.hpc.hardware.acceleration.enable_nested | true  |
    When I run "ai-how host check {config}"
    Then the output says "warn  nested: hpc-cluster asks for enable_nested, but kvm_intel has nested=0: the guests get no vmx/svm"
    And the output says "fix: with no VM running: echo 'options kvm_intel nested=1' > /etc/modprobe.d/kvm-nested.conf; modprobe -r kvm_intel; modprobe kvm_intel"
    And the output says "warn  cpu_features: this host's CPU lacks +svm (hpc-cluster): left out of the guests' CPU at each start"
    And the output says "pass  cpu pinning: 20 pinned vCPUs (hpc-cluster-compute-01: 8, hpc-cluster-compute-02: 8, hpc-cluster-controller: 4) on 32 host CPUs, 32 free"
