@libvirt
Feature: The event store backed up while in use, and restored verified
  The event store is ai-how's whole truth: every lease, VM and deployment. `ai-how store backup
  FILE` writes a consistent copy of it while other ai-how processes write (SQLite's online backup;
  a PostgreSQL store's events up to one position, in order), into one 0600 file with the digest
  of the views its log gives. `store restore FILE` goes into an empty store only: it checks the
  file against its manifest, loads the events, runs `audit verify` and rebuilds the views, which
  must equal the backup's. `store check` runs the backend's own check and `audit verify`. Keys
  travel only with `--with-keys` (tests/integration/test_store_backup.py, with backups taken
  while eight processes lease one GPU, and the bad files).

  Background:
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/minimal-firmware.yaml"

  Scenario: A backup restores into an empty store, verified, and the cluster is known there as it was
    When I run "ai-how store backup {tmp}/store.tar"
    Then the exit code is 0
    And the output says "to {tmp}/store.tar"
    When I restore "{tmp}/store.tar" into a new, empty store
    Then the exit code is 0
    And the output says "audit verify passed"
    And the output says "the views rebuilt equal the backup's; keys: none in the backup"
    And in the restored store, "ai-how hpc status examples/minimal-firmware.yaml" says "mini-hpc (hpc) · running"

  Scenario: A restore into a store that holds events is refused, and nothing changes
    Given I ran "ai-how store backup {tmp}/store.tar"
    When I run "ai-how store restore {tmp}/store.tar"
    Then the exit code is 2
    And the errors say "already holds"
    And the errors say "restore into an empty state directory (--state-dir), or give --force to move this one aside first"

  Scenario: The store's own check and audit verify say it is sound
    When I run "ai-how store check"
    Then the exit code is 0
    And the output says "the event store is sound"
