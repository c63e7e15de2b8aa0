@libvirt @gpu
Feature: One command hands a GPU between training and serving
  CLOUD-0.3's shared-GPU check was eight commands: stop HPC, start the Cloud GPU worker, look,
  and back. `ai-how gpu move` does it as one saga of recorded steps: drain the holder's node
  (its jobs may end), stop the holder (its lease released), start the target (the lease
  taken), wait until the target takes work. A move that stops half way is visible, and is
  finished by running it again or settled by `ai-how reconcile`.

  Background:
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"

  Scenario: The card goes to serving, then back to training, one command each way
    When I run "ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01"
    Then the exit code is 0
    And the output says "moved GPU 0000:01:00.0 from hpc-cluster-compute-01 to cloud-cluster-gpu-worker-01"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by cloud-cluster-gpu-worker-01
    And libvirt shows hpc-cluster-compute-01 defined and shut off
    And the move of GPU 0000:01:00.0 is recorded step by step: drain, stop_holder, start_target, ready
    When I run "ai-how gpu move 0000:01:00.0 --to hpc-cluster-compute-01 --from cloud-cluster-gpu-worker-01"
    Then the exit code is 0
    And the output says "moved GPU 0000:01:00.0 from cloud-cluster-gpu-worker-01 to hpc-cluster-compute-01"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01
    And libvirt shows cloud-cluster-gpu-worker-01 defined and shut off
    And the audit log has exactly 2 "GpuMoved" events

  Scenario Outline: A move that cannot be made is refused, and nothing changes
    When I run "ai-how gpu move <card> --to <target> <flags>"
    Then the exit code is <code>
    And the errors say "<message>"
    And the output has no traceback
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01
    And the audit log has exactly 0 "GpuMoveStarted" events

    Examples:
      | card         | target                      | flags                              | code | message                                                                                     |
      | 0000:01:00.0 | cloud-cluster-cpu-worker-01 |                                    | 1    | cloud-cluster-cpu-worker-01 does not configure GPU 0000:01:00.0; it configures no GPU       |
      | 0000:01:00.0 | hpc-cluster-compute-01      |                                    | 1    | GPU 0000:01:00.0 is held by hpc-cluster-compute-01 already: the target and the holder are one VM |
      | 0000:01:00.0 | cloud-cluster-gpu-worker-01 | --from cloud-cluster-gpu-worker-01 | 1    | GPU 0000:01:00.0 is held by hpc-cluster-compute-01, not cloud-cluster-gpu-worker-01         |
      | 0000:09:00.0 | hpc-cluster-compute-01      |                                    | 2    | GPU 0000:09:00.0 is not known                                                               |
      | 0000:01:00.0 | no-such-vm                  |                                    | 2    | VM no-such-vm is not known                                                                  |
      | 0000:01:00.0 | cloud-cluster-gpu-worker-01 | --force                            | 2    | refusing to move 0000:01:00.0 with --force without confirmation: no terminal to ask; pass --yes |

  Scenario Outline: A move killed at a step is finished by running it again
    Given "ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01" was killed after its step <step>
    Then "ai-how gpu list --json" shows the move of GPU 0000:01:00.0 to cloud-cluster-gpu-worker-01 interrupted after <step>, and so does the topology
    And no GPU has two holders
    When I run "ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01"
    Then the exit code is 0
    And the output says "(an interrupted move, finished)"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by cloud-cluster-gpu-worker-01
    And the move of GPU 0000:01:00.0 is recorded step by step: drain, stop_holder, start_target, ready

    Examples:
      | step         |
      | drain        |
      | stop_holder  |
      | start_target |

  Scenario: A move's process killed by SIGKILL after its drain is settled by reconcile
    Given "ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01" was killed by SIGKILL after its step drain
    Then "ai-how gpu list --json" shows the move of GPU 0000:01:00.0 to cloud-cluster-gpu-worker-01 interrupted after drain, and so does the topology
    When I run "ai-how reconcile"
    Then the exit code is 0
    And the output says "interrupted before stop_holder and is recorded as failed; the card is held by hpc-cluster-compute-01"
    And "ai-how gpu list" shows GPU 0000:01:00.0 held by hpc-cluster-compute-01
    And no GPU has two holders
    And the audit log has exactly 1 "GpuMoveFailed" events

  Scenario Outline: A killed move that nobody finishes is settled by reconcile
    Given "ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01" was killed after its step <step>
    When I run "ai-how reconcile"
    Then the exit code is 0
    And the output says "<note>"
    And "ai-how gpu list" shows GPU 0000:01:00.0 <holding>
    And no GPU has two holders
    And the audit log has exactly 1 "<ending>" events

    Examples:
      | step         | note                                                                         | holding                                   | ending        |
      | drain        | interrupted before stop_holder and is recorded as failed; the card is held by hpc-cluster-compute-01 | held by hpc-cluster-compute-01 | GpuMoveFailed |
      | stop_holder  | interrupted before start_target and is recorded as failed; the card is free  | free                                      | GpuMoveFailed |
      | start_target | had got there (the target runs with the card); recorded as moved             | held by cloud-cluster-gpu-worker-01       | GpuMoved      |
