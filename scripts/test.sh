#!/usr/bin/env bash
# Install Timepoint with its development tools into ./.venv, lint (the code and the deployment
# files), type-check, and run the whole test suite (slow tests included, one pytest process per
# core; plain `pytest` runs the fast default selection) measuring coverage of timepoint/ (at
# least 90%; subprocesses are not traced).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m mypy
# deployment files: the Dockerfile, the Compose file, the Kubernetes manifests (core resources
# against the Kubernetes schemas, the Dask operator's custom resources against the schemas in
# deploy/kubernetes/schemas)
.venv/bin/hadolint Dockerfile
.venv/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml
.venv/bin/kubernetes-validate --strict --quiet \
  deploy/kubernetes/{namespace,home,api,postgres,network-policy}.yaml
.venv/bin/check-jsonschema --schemafile deploy/kubernetes/schemas/daskcluster.schema.json \
  deploy/kubernetes/dask-cluster.yaml
.venv/bin/check-jsonschema --schemafile deploy/kubernetes/schemas/daskautoscaler.schema.json \
  deploy/kubernetes/dask-autoscaler.yaml
.venv/bin/python -m pytest -m "slow or not slow" --numprocesses auto \
  --cov --cov-report=term:skip-covered --cov-fail-under=90 "$@"
