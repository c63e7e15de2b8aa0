#!/usr/bin/env bash
# Sets up (see setup.sh), brings up a local libvirtd with QEMU when run as root (see
# libvirt-up.sh) and PostgreSQL (see postgres-up.sh), and runs every test suite:
#   1. the unit tier, alone and first: a broken import fails in seconds;
#      meanwhile the hpc-base image is built (or found in the cache) in the background;
#   2. lanes side by side, each its own pytest process:
#      - the CPU lane, here: acceptance specs and store tests on SQLite and PostgreSQL, the
#        8-process race, the other integration tests, lint;
#      - in the background, once the image is there: the shared-cluster lane (tests on the
#        one booted cluster of real guests: guests, SLURM) and the other real-guest lane
#        (Kubernetes on its own guests, the firmware-only VMs), which mostly wait on TCG
#        guests, SSH and SLURM;
#   3. the background lanes' output, then where the time went: the slowest tests and each
#      file's total over every lane, each lane's wall time, and one count line.
# Extra arguments run one plain pytest with them instead (e.g. `bash scripts/test.sh -k leasing`).
# AI_HOW_RACE_ROUNDS sets how often the 8-process GPU race is repeated (default 3).
set -euo pipefail
# Under `env -i` PATH is bash's default but not exported: Python, pip and dpkg need it exported.
export PATH
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/libvirt-up.sh
  export AI_HOW_REQUIRE_LIBVIRTD=${AI_HOW_REQUIRE_LIBVIRTD:-1}
  export AI_HOW_TEST_POSTGRES=${AI_HOW_TEST_POSTGRES:-$(bash scripts/postgres-up.sh | tail -n 1)}
  export AI_HOW_REQUIRE_POSTGRES=${AI_HOW_REQUIRE_POSTGRES:-1}
fi
export AI_HOW_RACE_ROUNDS=${AI_HOW_RACE_ROUNDS:-3}
PYTEST=(.venv/bin/python -m pytest)
if (($#)); then
  exec "${PYTEST[@]}" "$@"
fi

results=$(mktemp -d "${TMPDIR:-/tmp}/ai-how-tests.XXXXXX")
began=$(date +%s)

# The image every real-guest test boots, built (or found in the cache by its recipe's digest)
# while the unit tier runs, once before the guest lanes start.
build_image() {
  if [ "$(id -u)" -eq 0 ]; then
    AI_HOW_STATE_DIR="$results/image-state" AI_HOW_IMAGE_DIR="${AI_HOW_TEST_IMAGE_DIR:-/var/cache/ai-how/images}" \
      .venv/bin/ai-how image build hpc-base >"$results/image.log" 2>&1 || echo "image build failed: $results/image.log"
  fi
  echo "$(($(date +%s) - began))" >"$results/image.seconds"
}
build_image &
image=$!
trap 'kill "$image" 2>/dev/null || true' EXIT

echo "test: unit tier"
"${PYTEST[@]}" tests/unit --durations=10 --junitxml="$results/unit.xml"
lanes_began=$(date +%s)

guest_lanes() {
  while [ ! -e "$results/image.seconds" ]; do sleep 1; done
  "${PYTEST[@]}" tests -m "real_libvirt and uses_shared_cluster" --durations=40 \
    --junitxml="$results/shared-cluster.xml" >"$results/shared-cluster.log" 2>&1 &
  local shared=$!
  "${PYTEST[@]}" tests -m "real_libvirt and not uses_shared_cluster" --durations=40 \
    --junitxml="$results/other-guests.xml" >"$results/other-guests.log" 2>&1 &
  local other=$!
  local rc=0
  wait "$shared" || rc=1
  echo "$(($(date +%s) - lanes_began))" >"$results/shared-cluster.seconds"
  wait "$other" || rc=1
  echo "$(($(date +%s) - lanes_began))" >"$results/guests.seconds"
  return $rc
}

echo "test: real-guest lanes in the background (their output: $results/*.log); the CPU lane here"
guest_lanes &
guests=$!
trap 'kill "$image" 2>/dev/null; pkill -P "$guests" 2>/dev/null; kill "$guests" 2>/dev/null || true' EXIT
# At the usual priority, as QEMU: niced, it got so little of the CPU beside five TCG guests
# where the scheduler groups no sessions (the CI machine) that it ended minutes after them.
cpu_rc=0
"${PYTEST[@]}" tests --ignore=tests/unit -m "not real_libvirt" --durations=40 \
  --junitxml="$results/cpu.xml" || cpu_rc=$?
cpu_done=$(date +%s)
guest_rc=0
wait "$guests" || guest_rc=$?
trap - EXIT
done_at=$(date +%s)

for lane in shared-cluster other-guests; do
  echo
  echo "================================ lane: $lane ================================"
  cat "$results/$lane.log" 2>/dev/null || echo "(no output: see $results)"
done
echo
.venv/bin/python scripts/test_report.py "$results"/unit.xml "$results"/cpu.xml "$results"/shared-cluster.xml \
  "$results"/other-guests.xml \
  --lane "unit tier: $((lanes_began - began)) s" \
  --lane "CPU lane: $((cpu_done - lanes_began)) s (exit $cpu_rc)" \
  --lane "image build, beside the unit tier: done $(cat "$results/image.seconds" 2>/dev/null || echo '?') s after the start" \
  --lane "shared-cluster lane: done $(cat "$results/shared-cluster.seconds" 2>/dev/null || echo '?') s after the lanes began" \
  --lane "every guest lane: done $(cat "$results/guests.seconds" 2>/dev/null || echo '?') s after the lanes began (exit $guest_rc)" \
  --lane "in all: $((done_at - began)) s"
if ((cpu_rc != 0 || guest_rc != 0)); then
  exit 1
fi
