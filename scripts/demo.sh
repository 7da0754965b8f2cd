#!/usr/bin/env bash
# Install Timepoint into ./.venv and run the showcase scenario, ending in a rendered report.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[all]"
.venv/bin/timepoint run scenarios/showcase/jefferson_dinner.yaml --report "$@"
