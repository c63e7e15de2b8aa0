@libvirt
Feature: A plan before acting, and a changed config applied in place
  `ai-how plan CONFIG` says what `start` would do to each cluster, as Terraform's plan does:
  create a network, pool or disk, define a domain, redefine one (with the domain XML's diff),
  start a VM, lease a GPU (and from whom it would have to be freed), deploy, skip, or refuse.
  It also shows where the config, the log and libvirt disagree. It changes nothing. With
  --detailed-exitcode it exits 0 when there is nothing to do, 2 when there are changes, and 1
  when a rule would refuse the start. A changed config is applied with
  `start CONFIG --redefine`: shut-off VMs are defined again and their disks grown; running
  VMs keep their spec, with a note, until they are stopped.

  Background:
    Given a libvirt host for this scenario

  Scenario: A config never started plans everything and makes nothing
    When I run "ai-how plan examples/multi-gpu-clusters.yaml --detailed-exitcode"
    Then the exit code is 2
    And the output says "+ create network aihow-hpc-cluster: 192.168.100.0/24 on bridge virbr100"
    And the output says "+ define hpc-cluster-compute-01: 8 vCPUs, 16 GiB, 100 GiB disk"
    And the output says "+ lease GPU 0000:01:00.0: to hpc-cluster-compute-01 (free)"
    And the output says "= skip cloud-cluster-gpu-worker-01: auto_start: false: left off"
    And the output says "apply: ai-how hpc start examples/multi-gpu-clusters.yaml"
    And the output says "Plan: 10 to create, 6 to define, 5 to start, 2 to lease."
    And libvirt has no network, pool or domain of hpc-cluster
    And the audit log has exactly 0 "ClusterProvisioned" events

  Scenario: An unchanged config has nothing to do
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    When I run "ai-how plan examples/multi-gpu-clusters.yaml --detailed-exitcode"
    Then the exit code is 0
    And the output says "= skip hpc-cluster-compute-01: runs as configured"
    And the output says "Nothing to do: the config, the log and libvirt agree."

  Scenario: A changed memory size lists the redefinition with the domain XML diff
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how vm stop hpc-cluster-compute-02 --timeout 1"
    And the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                                | value |
      | clusters.hpc.compute_nodes[1].memory_gb | 24 |
    When I run "ai-how plan {config} --detailed-exitcode"
    Then the exit code is 2
    And the output says "~ redefine hpc-cluster-compute-02: memory_gb 16 → 24"
    And the output says "-  <memory unit='KiB'>16777216</memory>"
    And the output says "+  <memory unit='KiB'>25165824</memory>"
    And the output says "+ start hpc-cluster-compute-02: 8 vCPUs, 24 GiB"
    And the output says "? drift: config: hpc-cluster is recorded with config digest"
    And the output says "apply: ai-how hpc start {config} --redefine"
    And the output says "Plan: 5 to create, 3 to define, 1 to redefine, 3 to start, 1 to lease, 1 drift."

  Scenario: Without --redefine a changed config is refused, and says where to look
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                                   | value |
      | clusters.hpc.compute_nodes[1].memory_gb | 24    |
    When I run "ai-how hpc start {config}"
    Then the exit code is 1
    And the errors say "cluster hpc-cluster is already recorded with another configuration"
    And the errors say "'ai-how plan CONFIG' shows the change; 'ai-how hpc start CONFIG --redefine' applies it to the VMs that are shut off"

  Scenario: start --redefine applies the change to stopped VMs and leaves running ones be
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how vm stop hpc-cluster-compute-02 --timeout 1"
    And the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                                   | value |
      | clusters.hpc.controller.cpu_cores       | 4     |
      | clusters.hpc.compute_nodes[1].memory_gb | 24    |
    When I run "ai-how hpc start {config} --redefine"
    Then the exit code is 0
    And the output says "redefined hpc-cluster-compute-02: memory_gb 16 → 24; domain defined again"
    And the errors say "note: hpc-cluster-controller runs, so it keeps its spec: stop it ('ai-how vm stop hpc-cluster-controller') and run 'ai-how hpc start CONFIG --redefine' again"
    And libvirt shows hpc-cluster-compute-02 running with 24 GiB and 8 vCPUs
    And libvirt shows hpc-cluster-controller running with 4 GiB and 2 vCPUs
    When I run "ai-how plan {config} --detailed-exitcode"
    Then the exit code is 2
    And the output says "~ redefine hpc-cluster-controller: cpu_cores 2 → 4 (once it is stopped: it runs now"
    When I run "ai-how vm stop hpc-cluster-controller --timeout 1"
    And I run "ai-how hpc start {config} --redefine"
    Then the exit code is 0
    And libvirt shows hpc-cluster-controller running with 4 GiB and 4 vCPUs
    When I run "ai-how plan {config} --detailed-exitcode"
    Then the exit code is 0
    And the output says "Nothing to do"
    And the audit log has exactly 2 "VmRedefined" events
    And the audit log has exactly 1 "ClusterReconfigured" events

  Scenario: A disk is never shrunk, and an address is not changed in place
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how hpc stop --timeout 1"
    And the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                                 | value          |
      | clusters.hpc.compute_nodes[0].disk_gb | 50             |
      | clusters.hpc.compute_nodes[1].ip      | 192.168.100.42 |
    When I run "ai-how plan {config} --detailed-exitcode"
    Then the exit code is 1
    And the output says "! refuse hpc-cluster-compute-01: disk_gb 100 → 50: a disk is never shrunk; give disk_gb: 100 or more"
    And the output says "! refuse hpc-cluster-compute-02: ip 192.168.100.12 → 192.168.100.42: ip cannot change in place"
    When I run "ai-how hpc start {config} --redefine"
    Then the exit code is 1
    And the errors say "cluster hpc-cluster cannot take this config in place: hpc-cluster-compute-01: disk_gb 100 → 50"
    And the audit log has exactly 0 "VmRedefined" events
    And libvirt shows no running domain of hpc-cluster

  Scenario: A card the other cluster holds is a refusal, with the command that frees it
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                                         | value |
      | clusters.cloud.worker_nodes.gpu[0].auto_start | true  |
    When I run "ai-how plan {config} --detailed-exitcode"
    Then the exit code is 1
    And the output says "! refuse GPU 0000:01:00.0: to cloud-cluster-gpu-worker-01: held by hpc-cluster-compute-01 (running); 'ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01' hands it over"
    And the output says "cloud-cluster: a start would be refused; fix what is marked '!' first"

  Scenario: What happened behind the log's back is drift
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    When someone runs "virsh destroy hpc-cluster-compute-02"
    And I run "ai-how plan examples/multi-gpu-clusters.yaml --json --detailed-exitcode"
    Then the exit code is 2
    And the plan's JSON has for hpc-cluster the drift "libvirt: hpc-cluster-compute-02 is recorded running, but libvirt has it shut off ('ai-how reconcile' records that)"
    And the plan's JSON has for hpc-cluster the action "start hpc-cluster-compute-02"
    And the audit log has exactly 0 "VmStopped" events

  Scenario: With --deploy the plan says which cluster a deploy would configure
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And Kubernetes is recorded as deployed on cloud-cluster
    When I run "ai-how plan examples/multi-gpu-clusters.yaml --deploy --detailed-exitcode"
    Then the exit code is 2
    And the output says "+ deploy hpc-cluster: SLURM, by Ansible ('ai-how hpc deploy')"
    And the output says "= skip deploy: deployed (run "
    And the output says "apply: ai-how hpc deploy examples/multi-gpu-clusters.yaml"
    And the output says "Plan: 1 to deploy."

  Scenario: A compute node added to the config is defined and started by start --redefine
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And SLURM is recorded as deployed on hpc-cluster
    And the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                       | value                                                             |
      | clusters.hpc.compute_nodes[2] | {cpu_cores: 2, memory_gb: 4, disk_gb: 20, ip: 192.168.100.13} |
    When I run "ai-how plan {config} --detailed-exitcode"
    Then the exit code is 2
    And the output says "+ define hpc-cluster-compute-03: 2 vCPUs, 4 GiB, 20 GiB disk"
    And the output says "+ start hpc-cluster-compute-03: 2 vCPUs, 4 GiB"
    And the output says "apply: ai-how hpc start {config} --redefine"
    When I run "ai-how hpc start {config} --redefine"
    Then the exit code is 0
    And the output says "added to hpc-cluster: hpc-cluster-compute-03"
    And the output says "started: hpc-cluster-compute-03"
    And libvirt shows hpc-cluster-compute-03 running with 4 GiB and 2 vCPUs
    And libvirt has network aihow-hpc-cluster on bridge virbr100 with a DHCP entry for each VM
    When I run "ai-how plan {config} --detailed-exitcode"
    Then the exit code is 0
    When I run "ai-how plan {config} --deploy"
    Then the output says "+ deploy hpc-cluster: SLURM, by Ansible ('ai-how hpc deploy'): hpc-cluster-compute-03 not in the deployed layout"

  Scenario: A VM on an image not built here is a refusal, with the command that builds it
    Given the config "examples/multi-gpu-clusters.yaml" with these fields:
      | field                   | value    |
      | clusters.hpc.base_image | hpc-base |
    When I run "ai-how plan {config} --detailed-exitcode"
    Then the exit code is 1
    And the output says "+ create disk hpc-cluster-controller: 40 GiB on image hpc-base"
    And the output says "! refuse hpc-cluster-controller: it boots image 'hpc-base', which is not built here: 'ai-how image build hpc-base' builds it"
