#!/usr/bin/env bash
# Sets up (see setup.sh), brings up a local libvirtd with QEMU when run as root (see
# libvirt-up.sh) and PostgreSQL (see postgres-up.sh), and runs every test suite:
#   1. the unit tier, alone and first: a broken import fails in seconds;
#   2. two lanes side by side: the real-guest lane (tests marked real_libvirt: Debian guests on
#      TCG, SSH, SLURM, Ansible; mostly waiting on guests) in the background, and the CPU lane
#      (acceptance specs and store tests on SQLite and PostgreSQL, the 8-process race, the
#      other integration tests, lint) in the foreground;
#   3. where the time went: the slowest tests and each file's total, over both lanes.
# Each lane prints pytest's --durations=40 and its own per-file totals. Extra arguments run one
# plain pytest with them instead (e.g. `bash scripts/test.sh -k leasing`).
# AI_HOW_RACE_ROUNDS sets how often the 8-process GPU race is repeated (default 3).
set -euo pipefail
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
echo "test: unit tier"
"${PYTEST[@]}" tests/unit --durations=10 --junitxml="$results/unit.xml"

echo "test: real-guest lane in the background (its output: $results/guests.log); CPU lane here"
guest_began=$(date +%s)
"${PYTEST[@]}" tests -m real_libvirt --durations=40 --junitxml="$results/guests.xml" \
  >"$results/guests.log" 2>&1 &
guests=$!
trap 'kill "$guests" 2>/dev/null || true' EXIT
cpu_rc=0
"${PYTEST[@]}" tests --ignore=tests/unit -m "not real_libvirt" --durations=40 \
  --junitxml="$results/cpu.xml" || cpu_rc=$?
cpu_done=$(date +%s)
guest_rc=0
wait "$guests" || guest_rc=$?
trap - EXIT
guest_done=$(date +%s)

echo
echo "================================ real-guest lane ================================"
cat "$results/guests.log"
echo
.venv/bin/python scripts/test_report.py "$results"/unit.xml "$results"/cpu.xml "$results"/guests.xml \
  --lane "unit: $((guest_began - began)) s" --lane "CPU lane: $((cpu_done - guest_began)) s (exit $cpu_rc)" \
  --lane "real-guest lane: $((guest_done - guest_began)) s (exit $guest_rc)" --lane "in all: $((guest_done - began)) s"
if ((cpu_rc != 0 || guest_rc != 0)); then
  exit 1
fi
