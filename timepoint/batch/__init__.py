"""Batches (SPEC §9): grids of specs on local processes or Dask, under one budget, resumable.

>>> specs = tp.expand_grid("scenarios/showcase/jefferson_dinner.yaml",
...                        {"seed": range(100)})                         # doctest: +SKIP
>>> tp.estimate_batch(specs).describe()                                  # doctest: +SKIP
>>> summary = tp.run_batch(specs, parallel_workers=10, budget_cap=5.0)   # doctest: +SKIP
>>> summary.jobs                                   # one row per job     # doctest: +SKIP

Modules: :mod:`~timepoint.batch.spec` (specs, grids, job ids), :mod:`~timepoint.batch.estimate`
(cost before running, from :mod:`~timepoint.batch.rehearsal`, :mod:`~timepoint.batch.call_count`
and :mod:`~timepoint.batch.pricing`), :mod:`~timepoint.batch.runner` (``run_batch``),
:mod:`~timepoint.batch.resume` (checking and resuming against the store),
:mod:`~timepoint.batch.execution` (backend, driver, summary),
:mod:`~timepoint.batch.driver` (window, reservations), :mod:`~timepoint.batch.backends`
(loky, Dask), :mod:`~timepoint.batch.job` (the worker function), :mod:`~timepoint.batch.ratelimit`
(one requests-per-minute limit for all workers), :mod:`~timepoint.batch.definition` (batch
files), :mod:`~timepoint.batch.sweep` (notebook sweeps with papermill).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timepoint.batch.estimate import BatchEstimate, estimate_batch
    from timepoint.batch.runner import run_batch
    from timepoint.batch.spec import Grid, JobSpec, expand_grid, make_spec
    from timepoint.batch.summary import BatchSummary

#: names imported on first use, so a worker process that unpickles one batch module (its
#: initializer, its job function) does not import the whole package
_LAZY: dict[str, str] = {
    "BatchEstimate": "timepoint.batch.estimate",
    "estimate_batch": "timepoint.batch.estimate",
    "run_batch": "timepoint.batch.runner",
    "Grid": "timepoint.batch.spec",
    "JobSpec": "timepoint.batch.spec",
    "expand_grid": "timepoint.batch.spec",
    "make_spec": "timepoint.batch.spec",
    "BatchSummary": "timepoint.batch.summary",
}

__all__ = [
    "BatchEstimate",
    "BatchSummary",
    "Grid",
    "JobSpec",
    "estimate_batch",
    "expand_grid",
    "make_spec",
    "run_batch",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'timepoint.batch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
