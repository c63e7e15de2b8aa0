@libvirt
Feature: A stop never ends a SLURM job by surprise
  Before a command stops, restarts or destroys a running HPC node, ai-how asks SLURM which
  jobs run on it or wait for it. None: the stop goes ahead. Some: the stop is refused with
  each job named and the ways on: --drain lets them end first (at its timeout the nodes are
  resumed and nothing stops), --force requeues them and stops. Stopping the controller while
  jobs run anywhere is refused the same way. Drains ai-how sets say "ai-how:" and are
  resumed when the node's guest is back; a drain an operator set by hand is never touched.
  SLURM is a stand-in controller here (its nodes, drains and jobs in memory); against the
  real slurmctld on real guests: tests/integration/test_slurm_deploy.py.

  Background:
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And SLURM is recorded as deployed on hpc-cluster

  Scenario: A stop with a running job is refused, the job named, and the job runs on
    Given SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1"
    Then the exit code is 1
    And the errors say "1 SLURM job(s) run or wait on hpc-cluster-compute-01: job 42 (alice, 'train', running 1:00:00)"
    And the errors say "stop with --drain [--drain-timeout S] to let them end first; or with --force to requeue them"
    And libvirt shows these domains running:
      | hpc-cluster-compute-01 |
    And SLURM still runs job 42 on hpc-cluster-compute-01

  Scenario: A job that is completing (its processes gone, SLURM cleaning up) does not refuse the stop
    Given SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01, completing
    When I run "ai-how hpc stop examples/multi-gpu-clusters.yaml --timeout 1"
    Then the exit code is 0
    And libvirt shows hpc-cluster-compute-01 defined and shut off

  Scenario: A node without jobs stops as before
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1"
    Then the exit code is 0
    And libvirt shows hpc-cluster-compute-01 defined and shut off
    And SLURM was asked to drain nothing

  Scenario: --drain waits for the job, stops, and the node is resumed when its guest is back
    Given SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01, ending soon
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1 --drain --drain-timeout 60"
    Then the exit code is 0
    And the output says "SLURM node(s) hpc-cluster-compute-01 drained; their jobs ended"
    And libvirt shows hpc-cluster-compute-01 defined and shut off
    And SLURM shows hpc-cluster-compute-01 drain for "ai-how: stopping hpc-cluster-compute-01"
    When the guest of hpc-cluster-compute-01 is back
    Then SLURM shows hpc-cluster-compute-01 idle
    And "ai-how audit log --json" shows, for vm hpc-cluster-compute-01, these in order:
      | type              | payload                                                          |
      | SlurmNodeDrained  | {"reason": "ai-how: stopping hpc-cluster-compute-01", "jobs": ["42"]} |
      | VmStopRequested   |                                                                  |
      | VmStopped         |                                                                  |
      | SlurmNodeResumed  |                                                                  |

  Scenario: --drain gives up at its timeout: the node is resumed and nothing stops
    Given SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1 --drain --drain-timeout 0"
    Then the exit code is 1
    And the errors say "1 SLURM job(s) still run after 0 s of draining: job 42"
    And the errors say "hpc-cluster-compute-01 resumed, nothing stopped"
    And libvirt shows these domains running:
      | hpc-cluster-compute-01 |
    And SLURM shows hpc-cluster-compute-01 idle

  Scenario: --force requeues what can be requeued, names what cannot, and stops
    Given SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01
    And SLURM runs job 43 of bob named "eval" on hpc-cluster-compute-01, not requeueable
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1 --force"
    Then the exit code is 0
    And the output says "SLURM job(s) 42 requeued: they run again when a node takes them; 43 could not be requeued and end with the VM (--force)"
    And libvirt shows hpc-cluster-compute-01 defined and shut off
    And "ai-how audit log --json" shows, for vm hpc-cluster-compute-01, these in order:
      | type              | payload                                |
      | SlurmNodeDrained  |                                        |
      | SlurmJobsRequeued | {"requeued": ["42"], "ended": ["43"]}  |
      | VmStopRequested   |                                        |
      | VmStopped         |                                        |

  Scenario: Stopping the cluster while a job runs on any node is refused
    Given SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01
    When I run "ai-how hpc stop examples/multi-gpu-clusters.yaml --timeout 1"
    Then the exit code is 1
    And the errors say "job 42 (alice, 'train', running 1:00:00)"
    And libvirt shows these domains running:
      | hpc-cluster-controller |
      | hpc-cluster-compute-01 |

  Scenario: Destroying the system with a job is refused before anything is stopped
    Given SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01
    When I run "ai-how system destroy --yes --timeout 1"
    Then the exit code is 1
    And the errors say "job 42"
    And libvirt shows these domains running:
      | hpc-cluster-compute-01 |

  Scenario: SLURM not answering refuses the stop; --force goes on without it
    Given SLURM does not answer
    When I run "ai-how vm restart hpc-cluster-compute-01 --timeout 1"
    Then the exit code is 1
    And the errors say "SLURM of hpc-cluster does not answer, so ai-how cannot tell whether jobs run on hpc-cluster-compute-01"
    And the errors say "or stop anyway with --force"
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1 --force"
    Then the exit code is 0
    And the output says "SLURM of hpc-cluster does not answer"
    And libvirt shows hpc-cluster-compute-01 defined and shut off

  Scenario: A drain an operator set by hand is neither replaced nor resumed
    Given SLURM runs job 42 of alice named "train" on hpc-cluster-compute-01, ending soon
    And an operator drained hpc-cluster-compute-01 in SLURM for "disk check"
    When I run "ai-how vm stop hpc-cluster-compute-01 --timeout 1 --drain"
    Then the exit code is 0
    When the guest of hpc-cluster-compute-01 is back
    Then SLURM shows hpc-cluster-compute-01 drain for "disk check"

  Scenario: --drain and --force together are refused as a usage error
    When I run "ai-how vm stop hpc-cluster-compute-01 --drain --force"
    Then the exit code is 2
    And the errors say "--drain and --force: choose one"
