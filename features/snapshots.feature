@libvirt
Feature: Snapshots: a cluster rolled back in one command, GPU-aware
  `ai-how snapshot create` takes every VM of a cluster at one point in time: the running guests'
  filesystems are frozen together through their guest agents, each disk becomes read-only under
  a new overlay, and the guests are thawed. A VM with a passed-through GPU cannot save its
  memory, so every snapshot is disk-only, and the record says which VMs held a GPU. A guest
  whose agent does not answer refuses the snapshot unless --crash-consistent is said out loud.
  `snapshot restore` stops the cluster the way stops do (SLURM's jobs asked first), puts every
  disk back, records the deployment those disks hold and starts again what ran; `reconcile`
  finishes a restore cut off half way. Here on libvirt's test driver (which refuses disk-only
  snapshots) with the disks' chains kept in memory; on the real libvirtd and QEMU:
  tests/integration/test_snapshots.py.

  Background:
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"

  Scenario: A running cluster's snapshot freezes every guest first and thaws them after; a GPU VM's is disk-only
    When I run "ai-how snapshot create examples/multi-gpu-clusters.yaml --name before-upgrade"
    Then the exit code is 0
    And the output says "took (frozen, "
    And the output says "hpc-cluster-compute-01: frozen, disk-only, holds a GPU"
    And every guest of hpc-cluster was frozen before the first disk was taken and thawed after the last
    And "ai-how snapshot list hpc-cluster --json" lists before-upgrade as frozen, with hpc-cluster-compute-01 and hpc-cluster-compute-02 holding a GPU
    And the audit log has exactly 1 "SnapshotTaken" events

  Scenario: A guest whose agent does not answer refuses the snapshot, nothing taken, unless it is crash-consistent
    Given the guest agent of hpc-cluster-compute-02 does not answer
    When I run "ai-how snapshot create hpc-cluster --name nightly"
    Then the exit code is 1
    And the errors say "cannot freeze the filesystems of hpc-cluster-compute-02"
    And the errors say "--crash-consistent"
    And no disk was taken and no guest is left frozen
    When I run "ai-how snapshot create hpc-cluster --name nightly --crash-consistent"
    Then the exit code is 0
    And the output says "took (crash-consistent, "

  Scenario: A VM whose disk cannot be taken fails the whole snapshot, and the VMs taken before it are put back
    Given the disk of hpc-cluster-compute-02 cannot be snapshotted
    When I run "ai-how snapshot create hpc-cluster --name half"
    Then the exit code is 3
    And the errors say "snapshot half was not taken: cannot snapshot the disk of hpc-cluster-compute-02: No space left on device; hpc-cluster-controller, hpc-cluster-compute-01 put back as they were"
    And every VM of hpc-cluster writes to its disk of before
    And no guest is left frozen
    And the audit log has exactly 0 "SnapshotTaken" events

  Scenario: A restore puts back what the disks held and starts again what ran
    Given hpc-cluster-compute-01 wrote "epoch 1" to its disk
    And I ran "ai-how snapshot create hpc-cluster --name good"
    And hpc-cluster-compute-01 wrote "epoch 2" to its disk
    When I run "ai-how snapshot restore hpc-cluster good --yes --timeout 1"
    Then the exit code is 0
    And hpc-cluster-compute-01 reads "epoch 1" from its disk
    And libvirt shows these domains running:
      | hpc-cluster-controller |
      | hpc-cluster-compute-01 |
      | hpc-cluster-compute-02 |
    And the audit log has exactly 1 "SnapshotRestored" events

  Scenario: A restore shows again the deployment its disks hold
    Given I ran "ai-how snapshot create hpc-cluster --name bare"
    And SLURM is recorded as deployed on hpc-cluster
    When I run "ai-how snapshot restore hpc-cluster bare --yes --timeout 1"
    Then the exit code is 0
    And "ai-how hpc status examples/multi-gpu-clusters.yaml --json" shows no deployment

  Scenario: A restore while a SLURM job runs is refused, the job named, and nothing is touched
    Given I ran "ai-how snapshot create hpc-cluster --name good"
    And SLURM is recorded as deployed on hpc-cluster
    And SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01
    When I run "ai-how snapshot restore hpc-cluster good --yes --timeout 1"
    Then the exit code is 1
    And the errors say "job 42 (alice, 'train', running 1:00:00)"
    And no disk was restored
    And libvirt shows these domains running:
      | hpc-cluster-compute-01 |

  Scenario: A restore cut off half way is finished by reconcile
    Given hpc-cluster-compute-01 wrote "epoch 1" to its disk
    And I ran "ai-how snapshot create hpc-cluster --name good"
    And hpc-cluster-compute-01 wrote "epoch 2" to its disk
    And the restore of hpc-cluster-compute-02 will be cut off
    When I run "ai-how snapshot restore hpc-cluster good --yes --timeout 1"
    Then the exit code is 3
    When I run "ai-how reconcile"
    Then the exit code is 0
    And the output says "snapshot good of cluster hpc-cluster: finished a restore that was cut off"
    And hpc-cluster-compute-01 reads "epoch 1" from its disk
    And the audit log has exactly 1 "SnapshotRestored" events

  Scenario: A deleted snapshot's layer is folded into the next, and its name can be used again
    Given hpc-cluster-compute-01 wrote "epoch 1" to its disk
    And I ran "ai-how snapshot create hpc-cluster --name first"
    And hpc-cluster-compute-01 wrote "epoch 2" to its disk
    And I ran "ai-how snapshot create hpc-cluster --name second"
    When I run "ai-how snapshot delete hpc-cluster first --yes"
    Then the exit code is 0
    And the output says "merged hpc-cluster-compute-01@first.qcow2 into its layer"
    When I run "ai-how snapshot restore hpc-cluster second --yes --timeout 1"
    Then hpc-cluster-compute-01 reads "epoch 2" from its disk
    When I run "ai-how snapshot create hpc-cluster --name first"
    Then the exit code is 0

  Scenario: A destroyed cluster's snapshots go with its disks, said and recorded
    Given I ran "ai-how snapshot create hpc-cluster --name good"
    When I run "ai-how hpc destroy examples/multi-gpu-clusters.yaml --yes --timeout 1"
    Then the exit code is 0
    And the output says "its snapshots went with its disks: good"
    And "ai-how snapshot list --json" lists no snapshot

  Scenario: A snapshot of another cluster is not restored here, and the error says whose it is
    Given I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how snapshot create hpc-cluster --name good"
    When I run "ai-how snapshot restore cloud-cluster good --yes"
    Then the exit code is 2
    And the errors say "cluster cloud-cluster has no snapshot named good; a snapshot of that name belongs to cluster hpc-cluster"
    And no disk was restored

  Scenario Outline: Bad input is refused in one line
    Given I ran "ai-how snapshot create hpc-cluster --name good"
    When I run "ai-how <command>"
    Then the exit code is <code>
    And the errors say "<message>"
    And the output has no traceback

    Examples:
      | command                                              | code | message                                                      |
      | snapshot restore hpc-cluster nope --yes              | 2    | cluster hpc-cluster has no snapshot named nope               |
      | snapshot restore cloud-cluster good --yes            | 2    | cluster cloud-cluster is not recorded here                   |
      | snapshot create hpc-cluster --name ../x              | 2    | snapshot name '../x': use letters, digits                    |
      | snapshot create hpc-cluster --name good              | 1    | cluster hpc-cluster already has a snapshot named good        |
      | snapshot create nowhere                              | 2    | cluster nowhere is not recorded here                         |
      | snapshot restore hpc-cluster good                    | 2    | refusing to restore cluster hpc-cluster without confirmation |

  Scenario: A redefinition takes a snapshot first; beyond global.snapshots.keep the oldest automatic one goes, one taken by hand stays
    Given I ran "ai-how snapshot create hpc-cluster --name by-hand"
    And the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                                   | value                         |
      | global.snapshots                        | {before: [redefine], keep: 1} |
      | clusters.hpc.compute_nodes[1].memory_gb | 24                            |
    And I ran "ai-how vm stop hpc-cluster-compute-02 --timeout 1"
    When I run "ai-how hpc start {config} --redefine"
    Then the exit code is 0
    And the output says "took snapshot before-redefine-"
    And the output says "redefined hpc-cluster-compute-02: memory_gb 16 → 24"
    Given the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                                   | value                         |
      | global.snapshots                        | {before: [redefine], keep: 1} |
      | clusters.hpc.compute_nodes[1].memory_gb | 32                            |
    And I ran "ai-how vm stop hpc-cluster-compute-02 --timeout 1"
    When I run "ai-how hpc start {config} --redefine"
    Then the exit code is 0
    And "ai-how snapshot list hpc-cluster --json" lists by-hand and one snapshot before redefine
    When I run "ai-how hpc start {config} --redefine"
    Then the output does not say "took snapshot"
