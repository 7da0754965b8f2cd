"""The parameters a run was made with: its seed and, for a run of a batch, the overrides its
job set (what a sweep of ``tp.expand_grid`` varies).

Every list of runs shows them as columns from these functions: the site's run browser, a
batch page and ``timepoint runs``. A run made outside a batch has its seed and no overrides
(the store keeps overrides only with batch jobs).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

#: what a run's parameters are: override path → value
Parameters = dict[str, Any]


class JobSource(Protocol):
    """What :func:`run_parameters` reads: a store's jobs by the runs they made."""

    def jobs_of_runs(self, run_ids: Sequence[str]) -> Sequence[Mapping[str, Any]]:
        """Job rows (``run_id``, ``spec_json``) of the runs ``run_ids``, oldest first."""
        ...


def job_spec(job: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of a job row (``spec_json`` as stored, or ``spec``); ``{}`` when it has none."""
    spec = job.get("spec_json") or job.get("spec") or {}
    return spec if isinstance(spec, dict) else {}


def job_overrides(job: Mapping[str, Any]) -> Parameters:
    """The overrides a job set (dotted path → value)."""
    overrides = job_spec(job).get("overrides") or {}
    return dict(overrides) if isinstance(overrides, dict) else {}


def swept_parameters(jobs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The override paths set in any of ``jobs``, in first-seen order."""
    names: dict[str, None] = {}
    for job in jobs:
        names.update(dict.fromkeys(job_overrides(job)))
    return list(names)


def run_parameters(store: JobSource, run_ids: Sequence[str]) -> dict[str, Parameters]:
    """Run id → the overrides of the job that made it, for the runs of ``run_ids`` that a
    batch made (a run made again by a later job takes that job's)."""
    found: dict[str, Parameters] = {}
    for job in store.jobs_of_runs(run_ids):
        if job.get("run_id"):
            found[str(job["run_id"])] = job_overrides(job)
    return found


def parameter_columns(parameters: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The override paths of any run of ``parameters``, in first-seen order."""
    names: dict[str, None] = {}
    for overrides in parameters.values():
        names.update(dict.fromkeys(overrides))
    return list(names)


def parameter_text(value: Any) -> str:
    """A parameter value as a table shows it: ``""`` for none, lists and mappings as compact
    JSON, anything else as ``str``."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return str(value)


def parameter_cells(overrides: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The cells of ``columns`` for a run with ``overrides`` (empty where it set none)."""
    return [parameter_text(overrides.get(name)) for name in columns]
