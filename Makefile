# Operator shortcuts: every target calls the ai-how CLI and nothing more.
# Pick the config with CLUSTER_CONFIG=path/to/cluster.yaml (default: the shared-GPU example).

CLUSTER_CONFIG ?= examples/multi-gpu-clusters.yaml
AI_HOW ?= .venv/bin/ai-how
GPU_WORKER ?= cloud-cluster-gpu-worker-01
HPC_GPU_NODE ?= hpc-cluster-compute-01
SHARED_GPU ?= 0000:01:00.0
DRAIN_TIMEOUT ?= 600
TIMEOUT ?= 60

.DEFAULT_GOAL := help
.PHONY: help demo test validate system-start system-stop system-status system-destroy \
	hpc-cluster-start hpc-cluster-stop hpc-cluster-status hpc-cluster-destroy \
	cloud-cluster-start cloud-cluster-stop cloud-cluster-status cloud-cluster-destroy \
	hpc-cluster-deploy cloud-cluster-deploy \
	cluster-start cluster-stop cluster-status cluster-destroy validate-shared-gpu reconcile

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'
	@echo "  CLUSTER_CONFIG=$(CLUSTER_CONFIG)"

demo: ## Set up and run the quick-start demo
	bash scripts/demo.sh

test: ## Set up and run every test suite
	bash scripts/test.sh

validate: ## Check the config and print the plan and GPU sharing
	$(AI_HOW) validate $(CLUSTER_CONFIG)

system-start: ## Start HPC, then Cloud
	$(AI_HOW) system start $(CLUSTER_CONFIG)

system-stop: ## Stop Cloud, then HPC
	$(AI_HOW) system stop $(CLUSTER_CONFIG) --timeout $(TIMEOUT)

system-status: ## Both clusters and the shared GPUs
	$(AI_HOW) system status $(CLUSTER_CONFIG)

system-destroy: ## Destroy both clusters (asks first)
	$(AI_HOW) system destroy $(CLUSTER_CONFIG)

hpc-cluster-start: ## Start the HPC cluster
	$(AI_HOW) hpc start $(CLUSTER_CONFIG)

hpc-cluster-deploy: ## SLURM on the running HPC cluster
	$(AI_HOW) hpc deploy $(CLUSTER_CONFIG)

hpc-cluster-stop: ## Stop the HPC cluster
	$(AI_HOW) hpc stop $(CLUSTER_CONFIG) --timeout $(TIMEOUT)

hpc-cluster-status: ## Status of the HPC cluster
	$(AI_HOW) hpc status $(CLUSTER_CONFIG)

hpc-cluster-destroy: ## Destroy the HPC cluster (asks first)
	$(AI_HOW) hpc destroy $(CLUSTER_CONFIG)

cloud-cluster-start: ## Start the Cloud cluster
	$(AI_HOW) cloud start $(CLUSTER_CONFIG)

cloud-cluster-deploy: ## Kubernetes and the enabled add-ons on the running Cloud cluster (Kubespray)
	$(AI_HOW) cloud deploy $(CLUSTER_CONFIG)

cloud-cluster-stop: ## Stop the Cloud cluster
	$(AI_HOW) cloud stop $(CLUSTER_CONFIG) --timeout $(TIMEOUT)

cloud-cluster-status: ## Status of the Cloud cluster
	$(AI_HOW) cloud status $(CLUSTER_CONFIG)

cloud-cluster-destroy: ## Destroy the Cloud cluster (asks first)
	$(AI_HOW) cloud destroy $(CLUSTER_CONFIG)

cluster-start: system-start ## Alias of system-start
cluster-stop: system-stop ## Alias of system-stop
cluster-status: system-status ## Alias of system-status
cluster-destroy: system-destroy ## Alias of system-destroy

reconcile: ## Record what happened behind the tool's back
	$(AI_HOW) reconcile

validate-shared-gpu: ## The shared-GPU switch of CLOUD-0.3: one gpu move each way (needs the GPUs)
	$(AI_HOW) validate $(CLUSTER_CONFIG)
	$(AI_HOW) hpc start $(CLUSTER_CONFIG)
	$(AI_HOW) cloud start $(CLUSTER_CONFIG)
	$(AI_HOW) system status $(CLUSTER_CONFIG)
	@echo "Starting $(GPU_WORKER) while HPC holds the GPU must be refused (exit 1):"
	-$(AI_HOW) vm start $(GPU_WORKER)
	$(AI_HOW) gpu move $(SHARED_GPU) --to $(GPU_WORKER) --drain-timeout $(DRAIN_TIMEOUT) --timeout $(TIMEOUT)
	$(AI_HOW) gpu list
	$(AI_HOW) gpu move $(SHARED_GPU) --to $(HPC_GPU_NODE) --drain-timeout $(DRAIN_TIMEOUT) --timeout $(TIMEOUT)
	$(AI_HOW) gpu list
