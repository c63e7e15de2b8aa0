#!/usr/bin/env bash
# The main job on the embedded examples, for real on local libvirt:
#  1. validate the two-cluster, shared-GPU config and show its plan and GPU-sharing report;
#  2. start the CPU-only minimal cluster (3 small VMs) and show its status.
# It leaves the cluster running and prints how to stop and remove it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/libvirt-up.sh
AI_HOW=.venv/bin/ai-how
echo "== ai-how validate examples/multi-gpu-clusters.yaml"
$AI_HOW validate examples/multi-gpu-clusters.yaml
echo
echo "== ai-how hpc start examples/minimal-firmware.yaml"
$AI_HOW hpc start examples/minimal-firmware.yaml
echo
echo "== ai-how audit log (what the event store recorded)"
$AI_HOW audit log
echo
echo "The minimal cluster is running (see 'virsh list'). Stop it, or remove it with everything it made:"
echo "  $AI_HOW hpc stop examples/minimal-firmware.yaml"
echo "  $AI_HOW hpc destroy examples/minimal-firmware.yaml --yes"
