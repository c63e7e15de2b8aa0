@libvirt
Feature: The audit trail
  Every change is an event. `ai-how audit log` filters it, `audit replay` rebuilds the views
  from the first event (identical to the ones kept up to date), `audit at` shows the
  platform as it was, and `audit verify` proves that no rule was ever broken.

  Background:
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how hpc stop --timeout 1"
    And I ran "ai-how vm start cloud-cluster-gpu-worker-01"

  Scenario: Filtering the log by GPU and type
    When I run "ai-how audit log --gpu 0000:01:00.0 --type GpuLeased --json"
    Then the exit code is 0
    And the JSON lines say:
      | type      | aggregate         | payload                               |
      | GpuLeased | gpu 0000:01:00.0  | {"vm": "hpc-cluster-compute-01"}      |
      | GpuLeased | gpu 0000:01:00.0  | {"vm": "cloud-cluster-gpu-worker-01"} |

  Scenario: Filtering the log by VM, by cluster and by count
    When I run "ai-how audit log --vm cloud-cluster-gpu-worker-01 --json"
    Then every JSON line concerns cloud-cluster-gpu-worker-01
    When I run "ai-how audit log --cluster cloud-cluster --type VmStarted --json"
    Then the JSON lines are "VmStarted" for cloud-cluster-control-plane, cloud-cluster-cpu-worker-01, cloud-cluster-gpu-worker-01
    When I run "ai-how audit log --limit 3 --json"
    Then there are 3 JSON lines

  Scenario: Filtering the log by time
    When I run "ai-how audit log --since 1h --json"
    Then there are as many JSON lines as events in the log
    When I run "ai-how audit log --until 2001-01-01T00:00:00+00:00"
    Then the output says "No event matches."
    When I run "ai-how audit log --since yesterday"
    Then the exit code is 2
    And the errors say "--since 'yesterday' is not a time: give ISO 8601 like 2026-11-22T14:00 or an age like 30m, 2h, 7d"

  Scenario: Replaying the log rebuilds views identical to the incremental ones
    Given I note the views as they are
    When I run "ai-how audit replay"
    Then the exit code is 0
    And the output says "the views are rebuilt"
    And the views are identical to the ones I noted

  Scenario: The topology as it was, at a position of the log
    Given the position of the first "GpuLeased" event for GPU 0000:01:00.0
    When I run "ai-how audit at {position} --json"
    Then the exit code is 0
    And the topology JSON says GPU 0000:01:00.0 of hpc-cluster-compute-01 is "leased to this VM" with no conflict
    And the topology JSON has no cluster cloud-cluster, which was started later
    When I run "ai-how audit at 1h"
    Then the exit code is 0
    And the output says "topology at"

  Scenario: A clean log verifies
    When I run "ai-how audit verify"
    Then the exit code is 0
    And the output says "never two holders of one GPU, releases only by the holder, no VM started without its GPUs, nothing after a destroy"

  Scenario: A log in which a rule was broken is caught, with the positions
    Given events written around the rules: GPU 0000:01:00.0 leased to intruder-vm while cloud-cluster-gpu-worker-01 holds it
    When I run "ai-how audit verify"
    Then the exit code is 1
    And the errors say "[two-holders] GPU 0000:01:00.0 leased to intruder-vm while cloud-cluster-gpu-worker-01 held it"
