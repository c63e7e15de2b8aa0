@libvirt
Feature: The HPC cluster's shared storage
  Every node of an HPC cluster that boots an image mounts one folder read-write at the same
  place (storage.shared.mount_point, default /shared): jobs' output, datasets, trained
  models. With the virtiofs backend it is a folder on the host (storage.shared.host_path,
  default <pool root>/shared/<cluster>), so it outlives the VMs: destroy keeps it and says
  where; --purge-data deletes it after its own question. With the nfs backend (for hosts
  without virtiofsd) the controller exports the folder from its own disk and the computes
  mount it: nothing is on the host, and a destroy that would delete files on it is refused
  until --purge-data. Here on libvirt's test driver (the domain XML, the host folder; the
  guests' answers stand in for the controller's disk); mounted by real guests in
  tests/integration/test_slurm_deploy.py (virtiofs) and test_nfs_storage.py (nfs).

  Background:
    Given a libvirt host for this scenario
    And the HPC cluster of "examples/minimal.yaml" on a base image file here

  Scenario: Every node mounts the cluster's folder, which the start makes on the host
    When I run "ai-how hpc start {config}"
    Then the exit code is 0
    And the output says "shared storage {pools}/shared/mini-hpc"
    And the domains mini-hpc-controller, mini-hpc-compute-01 and mini-hpc-compute-02 share {pools}/shared/mini-hpc by virtiofs as "aihow-shared"
    When I run "ai-how hpc storage --json"
    Then the exit code is 0
    And its JSON has backend "virtiofs", mount_point "/shared" and host_path "{pools}/shared/mini-hpc", with bytes used and free

  Scenario: Destroy keeps the shared storage and says where; --purge-data deletes it after asking
    Given I ran "ai-how hpc start {config}"
    And a job wrote "model.pt" in the shared storage
    When I run "ai-how hpc destroy {config} --yes --timeout 1"
    Then the exit code is 0
    And the output says "kept the shared storage of mini-hpc at {pools}/shared/mini-hpc"
    And "model.pt" is still in the shared storage
    When I run "ai-how hpc destroy {config} --yes --purge-data"
    Then the exit code is 0
    And the output says "deleted the shared storage of mini-hpc at {pools}/shared/mini-hpc"
    And the shared storage is gone

  Scenario: A cluster with shared storage turned off mounts nothing
    Given its shared storage turned off
    When I run "ai-how hpc start {config}"
    Then the exit code is 0
    And the domain mini-hpc-controller shares no folder
    When I run "ai-how hpc storage"
    Then the exit code is 1
    And the errors say "mini-hpc has no shared storage"

  Scenario: A start onto a full disk is refused before any VM runs
    Given the disk under the shared storage has 8 MiB free
    When I run "ai-how hpc start {config}"
    Then the exit code is 3
    And the errors say "the disk of mini-hpc's shared storage ({pools}/shared/mini-hpc) is full: 8 MiB free"
    And libvirt has no network, pool or domain of mini-hpc

  Scenario Outline: A shared storage the host cannot give is refused before anything starts
    Given its shared storage set to <setting>
    When I run "ai-how validate {config}"
    Then the exit code is 2
    And the errors say "<message>"

    Examples:
      | setting                                                   | message                                                           |
      | host_path: {tmp}/a-file                                   | is a file, not a folder                                           |
      | mount_point: shared                                       | must be an absolute path in the guest other than /                |
      | mount_point: /data, and a virtio_fs_mounts at /data        | is where the cluster's shared storage is mounted                  |

  Scenario: With the NFS backend the controller exports the folder and nothing is made on the host
    Given its shared storage set to backend: nfs
    When I run "ai-how hpc start {config}"
    Then the exit code is 0
    And the domain mini-hpc-controller shares no folder
    And the domain mini-hpc-compute-01 shares no folder
    And no folder of the shared storage is on the host
    When I run "ai-how hpc storage --json"
    Then the exit code is 0
    And its JSON has backend "nfs", mount_point "/shared", no host_path and controller "mini-hpc-controller"

  Scenario: Destroying an NFS cluster whose storage holds files is refused until --purge-data
    Given its shared storage set to backend: nfs
    And I ran "ai-how hpc start {config}"
    And the controller's shared folder holds files
    When I run "ai-how hpc destroy {config} --yes --timeout 1"
    Then the exit code is 1
    And the errors say "the shared storage of mini-hpc (nfs, /shared) is on mini-hpc-controller's disk and holds"
    And the errors say "then run 'ai-how hpc destroy --purge-data'"
    And libvirt shows these domains running:
      | mini-hpc-controller | mini-hpc-compute-01 | mini-hpc-compute-02 |
    When I run "ai-how hpc destroy {config} --yes --timeout 1 --purge-data"
    Then the exit code is 0
    And the output says "the shared storage of mini-hpc went with mini-hpc-controller's disk (nfs)"
    And libvirt has no network, pool or domain of mini-hpc

  Scenario: An NFS shared storage needs the controller's address, and no host folder
    Given its shared storage set to backend: nfs
    And its shared storage set to host_path: {tmp}/folder
    And its controller without an ip
    When I run "ai-how validate {config}"
    Then the exit code is 2
    And the errors say "host_path is for backend virtiofs; with nfs the folder is on the controller's disk"
    And the errors say "the NFS shared storage is mounted from the controller's address: give the controller an ip"
