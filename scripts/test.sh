#!/usr/bin/env bash
# Sets up (see setup.sh), brings up a local libvirtd with QEMU when run as root (see
# libvirt-up.sh) and PostgreSQL (see postgres-up.sh), and runs every test suite: unit,
# acceptance specs and store tests on both SQLite and PostgreSQL, integration (8 racing
# processes, real libvirtd + QEMU). Extra arguments go to pytest.
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
exec .venv/bin/python -m pytest "$@"
