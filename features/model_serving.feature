@libvirt @gpu
Feature: Serving a model on the GPU the lease allows
  ai-how knows which VM holds each GPU. A GPU inference service is refused while its card is
  leased to a training VM, with the card, its holder and the command that hands it over. A
  dry run prints the InferenceService it would apply and changes nothing.

  Background:
    Given a libvirt host for this scenario

  Scenario: A GPU inference service is refused while HPC trains on the card
    Given I ran "ai-how hpc start examples/multi-gpu-clusters.yaml"
    And I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And Kubernetes is recorded as deployed on cloud-cluster
    When I run "ai-how model deploy llm --uri s3://models/llm --format huggingface --gpu 1 --config examples/multi-gpu-clusters.yaml"
    Then the exit code is 1
    And the errors say "--gpu 1: the running GPU workers of cloud-cluster hold no GPU"
    And the errors say "0000:01:00.0 (NVIDIA GeForce RTX 4090) is held by hpc-cluster-compute-01 (running): hand it over with 'ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01' (its jobs may end first)"
    And the output has no traceback
    And "ai-how model list --json" lists no inference service
    When I run "ai-how gpu move 0000:01:00.0 --to cloud-cluster-gpu-worker-01"
    Then the exit code is 0
    When I run "ai-how model deploy llm --uri s3://models/llm --format huggingface --gpu 1 --dry-run --config examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And the output says "nvidia.com/gpu: '1'"

  Scenario: A dry run prints the InferenceService and records nothing
    Given I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And Kubernetes is recorded as deployed on cloud-cluster
    When I run "ai-how model deploy iris --uri gs://kfserving-examples/models/sklearn/1.0/model --format sklearn --min-replicas 1 --max-replicas 2 --dry-run --config examples/multi-gpu-clusters.yaml"
    Then the exit code is 0
    And the output says "kind: InferenceService"
    And the output says "storageUri: gs://kfserving-examples/models/sklearn/1.0/model"
    And "ai-how model list --json" lists no inference service

  Scenario: A dry run needs no recorded Cloud cluster, and says the GPU check was not made
    When I run "ai-how model deploy llm --uri s3://models/llm --format huggingface --gpu 1 --dry-run"
    Then the exit code is 0
    And the output says "kind: InferenceService"
    And the output says "nvidia.com/gpu: '1'"
    And the errors say "note: the GPU check was not made: no Cloud cluster is recorded here"
    And "ai-how model list --json" lists no inference service

  Scenario Outline: A bad name or format is refused before anything is asked of the cluster
    Given I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And Kubernetes is recorded as deployed on cloud-cluster
    When I run "ai-how model deploy <name> --uri <uri> --format <format> --config examples/multi-gpu-clusters.yaml"
    Then the exit code is 2
    And the errors say "<message>"

    Examples:
      | name   | uri           | format  | message                                                    |
      | My_LLM | s3://m/llm    | sklearn | the inference service's name 'My_LLM' must be a DNS-1035 label |
      | llm    | s3://m/llm    | caffe   | --format caffe: not a format KServe serves                 |
      | llm    | ftp://m/llm   | sklearn | --uri ftp://m/llm: give a storage URI KServe can read       |

  Scenario: An API server that does not answer is one line, and nothing is recorded
    Given I ran "ai-how cloud start examples/multi-gpu-clusters.yaml"
    And Kubernetes is recorded as deployed on cloud-cluster
    And the API server of cloud-cluster, at https://127.0.0.1:9, does not answer
    When I run "ai-how model deploy iris --uri s3://models/iris --format sklearn --config examples/multi-gpu-clusters.yaml"
    Then the exit code is 3
    And the errors say "cannot reach the API server at https://127.0.0.1:9 (the InferenceService default/iris)"
    And the output has no traceback
    And "ai-how model list --json" lists no inference service
