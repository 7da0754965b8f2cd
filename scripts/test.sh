#!/usr/bin/env bash
# Install Timepoint with its development tools into ./.venv, lint, type-check, and run the whole test suite
# (slow tests included; plain `pytest` runs the fast default selection) measuring coverage of timepoint/
# (at least 90%; subprocesses are not traced).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m mypy
.venv/bin/python -m pytest -m "slow or not slow" --cov --cov-report=term:skip-covered \
  --cov-fail-under=90 "$@"
