#!/usr/bin/env bash
# The main job on the embedded example: validate the two-cluster, shared-GPU config and show
# the plan (VMs, roles, IPs, GPUs) and the GPU-sharing report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CONFIG=${1:-examples/multi-gpu-clusters.yaml}
.venv/bin/ai-how validate "$CONFIG"
