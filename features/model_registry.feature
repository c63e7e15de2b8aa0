@libvirt @mlflow
Feature: From MLflow's registry to an inference service on the Cloud cluster
  An ML engineer trains on the HPC cluster, pushes the model's folder to the S3 store and
  registers it in MLflow, then serves it on the Cloud cluster by its alias. ai-how checks every
  uploaded object against the file it came from, resolves the alias to the version's files, and
  records which version of which model it serves. What MLflow cannot give is refused by name.

  Background:
    Given an MLflow tracking server on loopback, its registry in PostgreSQL
    And an S3 store on loopback with a bucket "models"
    And a trained model in "{tmp}/model", to be registered as {model}
    And a libvirt host for this scenario
    And the config "examples/multi-gpu-clusters.yaml" with MLflow and MinIO enabled
    And I ran "ai-how cloud start {config}"
    And Kubernetes is recorded as deployed on cloud-cluster

  Scenario: A pushed model is served by its alias on one GPU
    When I run "ai-how model push {tmp}/model --name {model} --alias staging --s3-endpoint {s3} --mlflow-uri {mlflow}"
    Then the exit code is 0
    And the output says "3 file(s)"
    And the output says "3 uploaded, every object's checksum verified"
    And the output says "registered {model} version 1 (alias staging)"
    And the S3 store holds the model's 3 files under "models/{model}/", each with its SHA-256
    And MLflow's alias staging of {model} is version 1, its source that folder in the S3 store
    When I run "ai-how model push {tmp}/model --name {model} --alias staging --s3-endpoint {s3} --mlflow-uri {mlflow}"
    Then the exit code is 0
    And the output says "none uploaded (all there already)"
    And the output says "these files are version 1 already: nothing new was registered"
    And the log records both pushes of {model}: version 1 with its files' digest, new, then found again
    Given I ran "ai-how vm start cloud-cluster-gpu-worker-01"
    When I run "ai-how model deploy {model} --mlflow {model}@staging --mlflow-uri {mlflow} --format sklearn --gpu 1 --dry-run --config {config}"
    Then the exit code is 0
    And the output says "storageUri: s3://models/{model}/"
    And the output says "ai-how/mlflow-model: {model}"
    And the output says "ai-how/mlflow-version: '1'"
    And the output says "nvidia.com/gpu: '1'"
    And the output says "serviceAccountName: kserve-s3"
    And no output, event or file of the state directory holds the S3 secret key

  Scenario: An upload changed on its way is caught, and nothing is registered
    Given the S3 store is reached through a link that changes every upload
    When I run "ai-how model push {tmp}/model --name {model} --s3-endpoint {s3} --mlflow-uri {mlflow}"
    Then the exit code is 3
    And the errors say "3 file(s) arrived in s3://models changed on the way"
    And the errors say "nothing was registered in MLflow: push again"
    And the output has no traceback
    And MLflow has no model {model}
    And the S3 store holds nothing under "models/{model}/"

  Scenario: A model a training run logged is served from the artifact store's bucket
    Given a training run logged the model to MLflow's artifact store and registered it as {model} version 1
    When I run "ai-how model deploy {model} --mlflow {model}/1 --mlflow-uri {mlflow} --dry-run --config {config}"
    Then the exit code is 0
    And the output says "storageUri: s3://mlflow-artifacts/"
    And the output says "ai-how/mlflow-run: "
    When I run "ai-how model deploy {model} --mlflow {model}/1 --mlflow-uri {mlflow} --dry-run"
    Then the exit code is 2
    And the errors say "version 1 of {model} keeps its files at mlflow-artifacts:/"
    And the errors say "which the cluster cannot read: push the model with 'ai-how model push PATH --name {model}'"

  Scenario Outline: What MLflow cannot give is refused, naming it
    Given I ran "ai-how model push {tmp}/model --name {model} --alias staging --s3-endpoint {s3} --mlflow-uri {mlflow}"
    When I run "ai-how model deploy served --mlflow <reference> --mlflow-uri <tracking> --dry-run --config {config}"
    Then the exit code is <code>
    And the errors say "<message>"
    And the output has no traceback
    And "ai-how model list --json" lists no inference service

    Examples:
      | reference          | tracking           | code | message                                                                  |
      | {model}@production | {mlflow}           | 2    | has no alias 'production' of model '{model}'                             |
      | {model}/7          | {mlflow}           | 2    | has no version 7 of model '{model}'                                      |
      | nosuch@staging     | {mlflow}           | 2    | has no model 'nosuch'                                                    |
      | {model}            | {mlflow}           | 2    | --mlflow {model}: give MODEL@ALIAS (e.g. llm@staging) or MODEL/VERSION   |
      | {model}@staging    | http://127.0.0.1:9 | 3    | MLflow at http://127.0.0.1:9 does not answer (connection refused)        |

  Scenario: A model a job wrote on the HPC cluster's shared storage is pushed from there
    Given the HPC cluster of "examples/minimal.yaml" on a base image file here
    And I ran "ai-how hpc start {config}"
    And the trained model copied to "aihow/model" on the HPC cluster's shared storage
    When I run "ai-how model push hpc:/shared/aihow/model --name {model} --job 17 --s3-endpoint {s3} --mlflow-uri {mlflow}"
    Then the exit code is 0
    And the output says "read from hpc:mini-hpc:/shared/aihow/model ({pools}/shared/mini-hpc/aihow/model on this host), written by SLURM job 17"
    And the output says "registered {model} version 1"
    And the log records the push of {model} from "hpc:mini-hpc:/shared/aihow/model", job 17
    When I run "ai-how model push hpc:/shared/../etc/passwd --name {model} --s3-endpoint {s3} --mlflow-uri {mlflow}"
    Then the exit code is 2
    And the errors say "hpc:/shared/../etc/passwd is outside the shared storage of mini-hpc (/shared)"

  Scenario: A push to an MLflow that does not answer uploads nothing
    When I run "ai-how model push {tmp}/model --name {model} --s3-endpoint {s3} --mlflow-uri http://127.0.0.1:9"
    Then the exit code is 3
    And the errors say "MLflow at http://127.0.0.1:9 does not answer (connection refused)"
    And the output has no traceback
    And the S3 store holds nothing under "models/{model}/"
