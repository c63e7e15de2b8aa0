#!/usr/bin/env bash
# Sets up (see setup.sh) and runs every test suite: unit, acceptance specs, integration.
# Extra arguments go to pytest. AI_HOW_RACE_ROUNDS sets how often the 8-process GPU race
# is repeated (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export AI_HOW_RACE_ROUNDS=${AI_HOW_RACE_ROUNDS:-3}
exec .venv/bin/python -m pytest "$@"
