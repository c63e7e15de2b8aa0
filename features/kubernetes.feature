Feature: The Cloud cluster becomes Kubernetes, and its nodes follow its VMs
  `ai-how cloud deploy` runs Kubespray's cluster.yml on the running VMs with an inventory made
  from the config, keeps the admin kubeconfig, and waits until every node is Ready with its
  labels and taints. A worker that was off (its GPU was training on HPC) joins when its guest
  comes up, through Kubespray's scale.yml for that node alone. Before a node's VM stops, the
  node is cordoned and drained. Kubespray and the API server are stand-ins here; the
  inventory is read back by Ansible itself.

  Scenario Outline: Kubespray's inventory, from either shape of kubernetes_config
    When I run "ai-how cloud inventory <config> --output {tmp}/inventory --kubespray tests/fakes/kubespray"
    Then the exit code is 0
    And ansible-inventory reads "{tmp}/inventory" with these Kubespray groups:
      | group              | hosts                                          |
      | kube_control_plane | <control>                                      |
      | etcd               | <control>                                      |
      | kube_node          | <workers>                                      |
    And in that inventory every host has ansible_host, ip and access_ip on its own address
    And in that inventory every host has kube_version "<version>", kube_network_plugin "calico" and kube_pods_subnet "<pods>"

    Examples:
      | config                                   | control                     | workers                                                  | version | pods           |
      | examples/multi-gpu-clusters.yaml         | cloud-cluster-control-plane | cloud-cluster-cpu-worker-01, cloud-cluster-gpu-worker-01 | 1.33.5  | 10.244.0.0/16  |
      | tests/data/cloud-flat-shape.yaml         | k8s-control-plane           | k8s-gpu-worker-01, k8s-gpu-worker-02                     | 1.33.5  | 10.233.64.0/18 |
      | tests/data/oumi-plan-cloud.yaml          | cloud-cluster-control-plane | cloud-cluster-cpu-worker-01, cloud-cluster-gpu-worker-01, cloud-cluster-gpu-worker-02 | 1.32.9  | 10.244.0.0/16 |

  Scenario: A GPU worker started after the deploy joins the cluster
    Given the Cloud cluster of "examples/multi-gpu-clusters.yaml" running without its GPU worker
    And Kubernetes deployed on it
    When the guest of cloud-cluster-gpu-worker-01 comes up
    Then Kubespray's scale.yml ran for cloud-cluster-gpu-worker-01 alone
    And "ai-how audit log --json" shows, for cluster cloud-cluster, in order:
      | type                    | payload |
      | ClusterProvisioned      |         |
      | ClusterStarted          |         |
      | KubernetesDeployStarted |         |
      | KubernetesDeployed      |         |
      | NodeJoined              |         |
    And ai-how gave the node cloud-cluster-gpu-worker-01 the label "workload-type=inference"
    And the add-ons' generated passwords are files only root reads, in no event, view or playbook variable

  Scenario: With auto_join off, the operator is told how to join the worker
    Given the Cloud cluster of "examples/multi-gpu-clusters.yaml" running without its GPU worker
    And its kubernetes_config says auto_join: false
    And Kubernetes deployed on it
    When the guest of cloud-cluster-gpu-worker-01 comes up
    Then no scale.yml ran
    And the progress said "join it with 'ai-how cloud deploy CONFIG --limit cloud-cluster-gpu-worker-01'"

  Scenario: A node is drained before its VM stops, and uncordoned when it is back
    Given the Cloud cluster of "examples/multi-gpu-clusters.yaml" running without its GPU worker
    And Kubernetes deployed on it
    And the pod "serving/predictor-0" runs on cloud-cluster-cpu-worker-01
    When cloud-cluster-cpu-worker-01 is stopped
    Then the stop said "cloud-cluster-cpu-worker-01 drained: 1 pod(s) moved"
    And the node cloud-cluster-cpu-worker-01 is cordoned and runs no pod a drain moves
    When the guest of cloud-cluster-cpu-worker-01 comes up
    Then the node cloud-cluster-cpu-worker-01 is not cordoned

  Scenario: A drain that does not finish refuses the stop; --force stops without one
    Given the Cloud cluster of "examples/multi-gpu-clusters.yaml" running without its GPU worker
    And its kubernetes_config says drain_timeout_s: 0
    And Kubernetes deployed on it
    And the pod "serving/predictor-0" runs on cloud-cluster-cpu-worker-01 behind a disruption budget
    When cloud-cluster-cpu-worker-01 is stopped
    Then the stop is refused with "still runs 1 pod(s) after 0 s of draining (serving/predictor-0)"
    And cloud-cluster-cpu-worker-01 is still running
    When cloud-cluster-cpu-worker-01 is stopped with --force
    Then the stop said "cloud-cluster-cpu-worker-01 stops without a drain (--force)"
