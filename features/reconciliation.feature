@libvirt
Feature: Reconciliation brings the log back to the truth
  Things happen behind the tool's back: a VM crashes, someone runs `virsh destroy`, the CLI
  is killed in the middle of a start. `ai-how reconcile` (also run before every mutating
  command and inside every status) compares the log with libvirt's real domain states and
  records what actually happened, so that no GPU lease outlives its VM.

  Background:
    Given a libvirt host for this scenario

  Scenario: A VM stopped outside the tool frees its GPU, and the event says why
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    When someone runs "virsh destroy hpc-cluster-compute-01"
    And I run "ai-how reconcile"
    Then the exit code is 0
    And the output says "hpc-cluster-compute-01 was found shutoff outside ai-how; recorded as stopped (observed) and GPU 0000:01:00.0 released"
    And "ai-how gpu list" shows GPU 0000:01:00.0 free
    And "ai-how audit log --json" shows, for VM hpc-cluster-compute-01, in order:
      | type             | payload                |
      | VmDefined        |                        |
      | VmStartRequested |                        |
      | VmStarted        |                        |
      | VmStopped        | {"reason": "observed"} |

  Scenario: A status notices what happened before it shows anything
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    When someone runs "virsh destroy hpc-cluster-compute-02"
    And I run "ai-how hpc status --json"
    Then the exit code is 0
    And the errors say "reconciled: hpc-cluster-compute-02 was found shutoff outside ai-how"
    And the status of hpc-cluster says:
      | vm                     | role       | ip             | state   | auto_start |
      | hpc-cluster-controller | controller | 192.168.100.10 | running | true       |
      | hpc-cluster-compute-01 | compute    | 192.168.100.11 | running | true       |
      | hpc-cluster-compute-02 | compute    | 192.168.100.12 | stopped | true       |

  Scenario: A VM started outside the tool is recorded with its GPU
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how hpc stop --timeout 1"
    When someone runs "virsh start hpc-cluster-compute-01"
    And I run "ai-how reconcile"
    Then the exit code is 0
    And the output says "hpc-cluster-compute-01 was found running outside ai-how; recorded as running, GPUs 0000:01:00.0 leased to it"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01

  Scenario: A VM started outside the tool with a GPU that another VM holds is a conflict
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    When someone runs "virsh start cloud-cluster-gpu-worker-01"
    And I run "ai-how reconcile"
    Then the exit code is 1
    And the errors say "cloud-cluster-gpu-worker-01 runs outside ai-how with GPU 0000:01:00.0, which is leased to hpc-cluster-compute-01: two VMs cannot use one GPU"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01

  Scenario Outline: A start killed at <point> is resolved from what libvirt shows
    Given "ai-how hpc start examples/multi-gpu-clusters.yaml" was killed at <point>
    When I run "ai-how reconcile"
    Then the exit code is 0
    And no GPU is leased to a VM that libvirt does not run
    And every VM that libvirt runs holds every GPU it is configured with
    And the recorded state of every VM matches libvirt
    When I run "ai-how hpc start examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And libvirt shows these domains running:
      | hpc-cluster-controller | hpc-cluster-compute-01 | hpc-cluster-compute-02 |
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01

    Examples:
      | point                   |
      | after-define            |
      | after-lease-saved       |
      | after-domain-start      |
      | before-vm-started-saved |

  Scenario: A domain that the store does not know is reported as an orphan, and can be adopted
    Given another operator with another store started "examples/minimal-firmware.yaml" on this libvirt host
    When I run "ai-how reconcile"
    Then the exit code is 0
    And the output says "orphan: mini-hpc-compute-01 (compute of mini-hpc, running) was made by ai-how but is unknown to this store"
    When I run "ai-how reconcile --adopt examples/minimal-firmware.yaml"
    Then the exit code is 0
    And the output says "adopted: mini-hpc-compute-01"
    When I run "ai-how hpc status --json"
    Then the status of mini-hpc says:
      | vm                  | role       | ip             | state   | auto_start |
      | mini-hpc-controller | controller | 192.168.150.10 | running | true       |
      | mini-hpc-compute-01 | compute    | 192.168.150.11 | running | true       |
      | mini-hpc-compute-02 | compute    | 192.168.150.12 | running | true       |

  Scenario: Orphan domains can be removed with their disks
    Given another operator with another store started "examples/minimal-firmware.yaml" on this libvirt host
    When I run "ai-how reconcile --remove --yes"
    Then the exit code is 0
    And the output says "removed: mini-hpc-controller"
    And libvirt has no domain of mini-hpc
