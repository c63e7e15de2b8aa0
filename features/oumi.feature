@libvirt
Feature: Oumi's launcher runs jobs on the HPC cluster through its SLURM cloud
  Oumi reads `OUMI_SLURM_CONNECTIONS` (user@host, where sbatch runs) and connects with plain
  `ssh`. `ai-how hpc oumi` prints that value and an SSH stanza for the controller with the
  platform key and the host key ai-how pinned; `--write` keeps the stanza in the SSH config.

  Background:
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"

  Scenario: The connection and a stanza that checks the controller's host key
    When I run "ai-how hpc oumi examples/multi-gpu-clusters.yaml --write --ssh-config {tmp}/ssh/config"
    Then the exit code is 0
    And the output says "export OUMI_SLURM_CONNECTIONS=aihow@hpc-cluster-controller"
    And the output says "  HostName 192.168.100.10"
    And the warnings say "hpc-cluster-controller boots no image, so no sshd answers there"
    And "{tmp}/ssh/config" is private and holds one stanza for hpc-cluster-controller with the platform key and the pinned known_hosts
    When I run "ai-how hpc oumi --write --ssh-config {tmp}/ssh/config"
    Then the exit code is 0
    And the errors say "already there, unchanged"
    And "{tmp}/ssh/config" is private and holds one stanza for hpc-cluster-controller with the platform key and the pinned known_hosts
