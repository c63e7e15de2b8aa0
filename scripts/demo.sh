#!/usr/bin/env bash
# The main job on the embedded examples, for real on local libvirt:
#  1. validate the two-cluster, shared-GPU config and show its plan and GPU-sharing report;
#  2. build the hpc-base golden image (Debian 13, from the apt mirror; reused when its recipe
#     is unchanged);
#  3. start the minimal cluster (3 small Debian VMs on an isolated network) and wait until
#     every guest answers SSH with its pinned host key;
#  4. run a command on the controller over SSH;
#  5. configure SLURM on it with Ansible (MUNGE, slurmctld, slurmd, partitions) and run a job
#     across both compute nodes;
#  6. submit a batch job and read its output from the host, on the cluster's shared storage.
# It leaves the cluster running and prints how to stop and remove it.
set -euo pipefail
# Under `env -i` PATH is bash's default but not exported: Python, pip and dpkg need it exported.
export PATH
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/libvirt-up.sh
AI_HOW=.venv/bin/ai-how
echo "== ai-how validate examples/multi-gpu-clusters.yaml"
$AI_HOW validate examples/multi-gpu-clusters.yaml
echo
echo "== ai-how image build hpc-base"
$AI_HOW image build hpc-base
echo
echo "== ai-how hpc start examples/minimal.yaml"
$AI_HOW hpc start examples/minimal.yaml
echo
echo "== ai-how vm ssh mini-hpc-controller -- uname -a"
$AI_HOW vm ssh mini-hpc-controller -- uname -a
echo
echo "== ai-how hpc deploy examples/minimal.yaml (SLURM, by Ansible through ansible-runner)"
$AI_HOW hpc deploy examples/minimal.yaml
echo
echo "== ai-how hpc status examples/minimal.yaml (libvirt's view and SLURM's)"
$AI_HOW hpc status examples/minimal.yaml
echo
echo "== ai-how hpc ssh -- srun -N2 hostname"
$AI_HOW hpc ssh -- srun -N2 hostname
echo
echo "== a batch job's output, on the shared storage every node and this host see"
job=$($AI_HOW hpc ssh -- sbatch --parsable --wrap 'echo trained on $(hostname)')
for _ in $(seq 60); do
  $AI_HOW hpc ssh -- test -s "slurm-$job.out" 2>/dev/null && break
  sleep 2
done
$AI_HOW hpc storage examples/minimal.yaml
shared=$($AI_HOW hpc storage examples/minimal.yaml --json | .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["host_path"])')
echo "on this host, $shared/aihow/slurm-$job.out:"
cat "$shared/aihow/slurm-$job.out"
echo
echo "== ai-how audit log --limit 20 (what the event store recorded)"
$AI_HOW audit log --limit 20
echo
echo "The minimal cluster is running (see 'virsh list'). Log in, stop it, or remove it with everything it made:"
echo "  $AI_HOW hpc ssh            # sinfo, srun, sbatch on the controller"
echo "  $AI_HOW hpc stop examples/minimal.yaml"
echo "  $AI_HOW hpc destroy examples/minimal.yaml --yes"
