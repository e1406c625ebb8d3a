#!/usr/bin/env bash
# Set up the virtual environment and run Governor's live demo on embedded defaults
# (an in-process Kubernetes emulator and simulated model servers; no cluster, no GPU).
# Extra arguments go to `governor demo`, e.g. `scripts/demo.sh --duration 120`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
exec "${GOVERNOR_VENV:-.venv}/bin/governor" demo "$@"
