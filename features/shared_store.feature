@libvirt @postgres
Feature: Several operators share one store
  Teams outgrow one operator on one box. With `AI_HOW_EVENT_STORE=postgresql://...` every
  operator's ai-how writes to one log, so each sees the others' leases, and the rule that a
  GPU has one holder holds across all of them.

  Background:
    Given a libvirt host for this scenario
    And a shared PostgreSQL store
    And operators alice and bob, each with a state directory of their own

  Scenario: Two operators see each other's leases; the second is refused, naming the first's VM
    When alice runs "ai-how hpc start examples/multi-gpu-clusters.yaml"
    Then her command succeeds
    When bob runs "ai-how gpu list --json"
    Then bob sees GPU 0000:01:00.0 held by hpc-cluster-compute-01
    When bob runs "ai-how cloud start examples/multi-gpu-clusters.yaml"
    Then his command succeeds
    When bob runs "ai-how vm start cloud-cluster-gpu-worker-01"
    Then his command is refused with exit code 1 and "GPU 0000:01:00.0 is leased to hpc-cluster-compute-01 (running)"
    When alice runs "ai-how hpc stop --timeout 1"
    And bob runs "ai-how vm start cloud-cluster-gpu-worker-01"
    Then his command succeeds
    When alice runs "ai-how audit log --gpu 0000:01:00.0 --type GpuLeased --json"
    Then alice sees 2 leases of GPU 0000:01:00.0: to hpc-cluster-compute-01, then to cloud-cluster-gpu-worker-01
