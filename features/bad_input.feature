@errors
Feature: Bad input and broken surroundings get one clear line
  Whatever is wrong — the config, the arguments, the store, the daemon — ai-how answers with
  one or two lines that say what is wrong and what to do, and the documented exit code:
  2 for bad usage or config, 3 for the infrastructure. Never a traceback, never a partial write.

  Background:
    Given a libvirt host for this scenario

  Scenario Outline: A name that would reach libvirt, a path or Ansible must be safe
    Given the config "examples/minimal-firmware.yaml"
    And its field "<field>" set to <value>
    When I validate it
    Then the exit code is 2
    And the errors say "<message>"
    And nothing was written to the store

    Examples:
      | field                        | value                         | message                                                                     |
      | clusters.hpc.name            | "mini;rm -rf /"               | clusters.hpc.name: must be 2-40 characters of lower-case letters            |
      | clusters.hpc.name            | "../../etc"                   | clusters.hpc.name: must be 2-40 characters of lower-case letters            |
      | clusters.hpc.name            | "a-name-that-is-far-too-long-for-a-cluster-ok" | clusters.hpc.name: must be 2-40 characters                 |
      | clusters.hpc.network.bridge  | "br0 up"                      | clusters.hpc.network.bridge: must be a Linux interface name                 |

  @storeless
  Scenario: Unknown commands and options are usage errors
    When I run "ai-how hpc launch examples/minimal-firmware.yaml"
    Then the exit code is 2
    When I run "ai-how audit log --gpu 1:0.0"
    Then the exit code is 2
    And the errors say "--gpu: not a PCI address"

  Scenario: A corrupt store file is one clear error, and nothing is written
    Given the store file is overwritten with garbage
    When I run "ai-how gpu list"
    Then the exit code is 3
    And the errors say "is unreadable"
    And the errors say "restore it from a backup or move it aside to start an empty one"
    And the output has no traceback
    And the store file is still the garbage it was

  Scenario: A truncated store file is one clear error
    Given I ran "ai-how hpc start examples/minimal-firmware.yaml"
    And the store file is cut to half its size
    When I run "ai-how gpu list"
    Then the exit code is 3
    And the errors say "is unreadable"
    And the output has no traceback

  @storeless
  Scenario: An unreachable PostgreSQL is one clear error, without the password
    When I run "ai-how --event-store postgresql://aihow:hunter2@127.0.0.1:1/aihow gpu list"
    Then the exit code is 3
    And the errors say "cannot reach the event store at postgresql://aihow:***@127.0.0.1:1/aihow"
    And the output does not contain "hunter2"
    And the output has no traceback

  @storeless
  Scenario: An event store URL that is not PostgreSQL is a usage error
    When I run "ai-how --event-store mysql://root@localhost/db gpu list"
    Then the exit code is 2
    And the errors say "is not a PostgreSQL URL: give postgresql://user:password@host:port/database"

  @storeless
  Scenario: A read-only state directory is one clear error
    Given a state directory that cannot be written
    When I run "ai-how hpc start examples/minimal-firmware.yaml"
    Then the exit code is 3
    And the errors say "choose another with --state-dir or AI_HOW_STATE_DIR"
    And the output has no traceback

  Scenario: A missing libvirtd is one clear error, and no lease or intent is recorded
    When I run "ai-how --libvirt-uri qemu+unix:///system?socket=/nonexistent/libvirt-sock hpc start examples/multi-gpu-clusters.yaml"
    Then the exit code is 3
    And the errors say "cannot connect to libvirt at qemu+unix:///system?socket=/nonexistent/libvirt-sock"
    And the errors say "is libvirtd running?"
    And the output has no traceback
    And nothing was written to the store

  Scenario: Secrets in the config never reach the log, the views or the output
    Given the config "examples/multi-gpu-clusters.yaml" with the secret "s3cr3t-Pa55-Mlflow" in mlops and monitoring
    When I run "ai-how validate {config} --json"
    And I run "ai-how hpc start {config}"
    And I run "ai-how cloud start {config}"
    And I run "ai-how topology --json"
    And I run "ai-how audit log --json"
    Then no output contained "s3cr3t-Pa55-Mlflow"
    And neither the log nor the views contain "s3cr3t-Pa55-Mlflow"

  Scenario: A cluster that boots an image nobody built is refused before anything is made
    Given a libvirt host for this scenario
    When I run "ai-how hpc start examples/minimal.yaml"
    Then the exit code is 2
    And the errors say "mini-hpc-controller boots image 'hpc-base', which is not built here; build it with 'ai-how image build hpc-base'"
    And libvirt has no network, pool or domain of mini-hpc

  Scenario: An image ai-how does not know is refused
    When I run "ai-how image build windows-base"
    Then the exit code is 2
    And the errors say "unknown image 'windows-base': ai-how builds cloud-base, hpc-base"

  Scenario: A Debian suite ai-how does not build is refused
    When I run "ai-how image build hpc-base --suite sid"
    Then the exit code is 2
    And the errors say "unknown Debian suite 'sid': choose trixie or bookworm"

  Scenario: A deploy of a cluster that was stopped is refused with what to do
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/minimal-firmware.yaml"
    And I ran "ai-how hpc stop examples/minimal-firmware.yaml --timeout 0"
    When I run "ai-how hpc deploy examples/minimal-firmware.yaml"
    Then the exit code is 1
    And the errors say "cluster mini-hpc is stopped: start it with 'ai-how hpc start CONFIG', then deploy it"
    And the output has no traceback
    And the audit log has exactly 0 "ClusterDeployStarted" events

  Scenario: A deploy of a cluster never started here is refused the same way
    When I run "ai-how hpc deploy examples/minimal-firmware.yaml"
    Then the exit code is 1
    And the errors say "cluster mini-hpc is not running here: start it with 'ai-how hpc start CONFIG', then deploy it"

  Scenario: A deploy of VMs that boot no image is refused: there is no guest to configure
    Given a libvirt host for this scenario
    And I ran "ai-how hpc start examples/minimal-firmware.yaml"
    When I run "ai-how hpc deploy examples/minimal-firmware.yaml"
    Then the exit code is 2
    And the errors say "mini-hpc-controller boots no image, so there is no guest to configure; give the cluster a base_image"

  Scenario: A deploy without ansible-runner says how to install it, and records nothing
    Given ansible-runner is not installed
    When I run "ai-how hpc deploy examples/minimal-firmware.yaml"
    Then the exit code is 3
    And the errors say "ansible-runner is not installed; install it with: pip install 'ansible-runner>=2.3'"
    And the output has no traceback
    And nothing was written to the store

  Scenario: Deploying Kubernetes without a Kubespray checkout says how to get one
    When I run "ai-how cloud deploy examples/multi-gpu-clusters.yaml"
    Then the exit code is 2
    And the errors say "no Kubespray checkout is known; get Kubespray with: git clone --branch v2.29.0 --depth 1 https://github.com/kubernetes-sigs/kubespray.git DIR, then: ai-how kubespray setup DIR"
    And the output has no traceback

  Scenario: A Kubespray older than 2.29 is refused
    Given a Kubespray checkout of release 2.28.1
    When I run "ai-how kubespray setup {kubespray}"
    Then the exit code is 2
    And the errors say "Kubespray 2.28.1 at {kubespray} is too old: ai-how needs 2.29 or newer"
    When I run "ai-how cloud deploy examples/multi-gpu-clusters.yaml --kubespray {kubespray}"
    Then the exit code is 2
    And the errors say "is too old: ai-how needs 2.29 or newer"

  @storeless
  Scenario: A Kubernetes version the checkout does not ship is refused, naming its range
    Given the config "examples/multi-gpu-clusters.yaml"
    And its field "clusters.cloud.kubernetes_config.version" set to "1.28"
    When I validate it with "--kubespray tests/fakes/kubespray"
    Then the exit code is 2
    And the errors say "clusters.cloud.kubernetes_config.version: Kubernetes 1.28 is not one the Kubespray checkout supports (1.31.0 to 1.33.5); pick one of those"

  @storeless
  Scenario Outline: Pod and service ranges overlap neither each other nor a cluster's subnet
    Given the config "examples/multi-gpu-clusters.yaml"
    And its field "clusters.cloud.kubernetes_config.networking.<field>" set to "<range>"
    When I validate it
    Then the exit code is 2
    And the errors say "<message>"

    Examples:
      | field        | range            | message                                                                                            |
      | pod_cidr     | 10.96.0.0/16     | networking.service_cidr: service range 10.96.0.0/12 overlaps the pod range 10.96.0.0/16           |
      | pod_cidr     | 192.168.100.0/23 | networking.pod_cidr: 192.168.100.0/23 overlaps hpc-cluster's subnet 192.168.100.0/24              |
      | service_cidr | 192.168.0.0/16   | networking.service_cidr: 192.168.0.0/16 overlaps cloud-cluster's subnet 192.168.200.0/24          |

  Scenario: Deploying Kubernetes on a cluster that is not running says to start it
    When I run "ai-how cloud deploy examples/multi-gpu-clusters.yaml --kubespray tests/fakes/kubespray"
    Then the exit code is 1
    And the errors say "cluster cloud-cluster is not running here: start it with 'ai-how cloud start CONFIG', then deploy it"
    And the output has no traceback
