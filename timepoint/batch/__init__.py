"""Batches (SPEC §9): grids of specs on local processes or Dask, under one budget, resumable.

>>> specs = tp.expand_grid("scenarios/showcase/jefferson_dinner.yaml",
...                        {"seed": range(100)})                         # doctest: +SKIP
>>> tp.estimate_batch(specs).describe()                                  # doctest: +SKIP
>>> summary = tp.run_batch(specs, parallel_workers=10, budget_cap=5.0)   # doctest: +SKIP
>>> summary.jobs                                   # one row per job     # doctest: +SKIP

Modules: :mod:`~timepoint.batch.spec` (specs, grids, job ids), :mod:`~timepoint.batch.estimate`
(cost before running), :mod:`~timepoint.batch.runner` (``run_batch``),
:mod:`~timepoint.batch.driver` (window, reservations), :mod:`~timepoint.batch.backends`
(loky, Dask), :mod:`~timepoint.batch.job` (the worker function), :mod:`~timepoint.batch.ratelimit`
(one requests-per-minute limit for all workers), :mod:`~timepoint.batch.definition` (batch
files), :mod:`~timepoint.batch.sweep` (notebook sweeps with papermill).
"""

from timepoint.batch.estimate import BatchEstimate, estimate_batch
from timepoint.batch.runner import run_batch
from timepoint.batch.spec import Grid, JobSpec, expand_grid, make_spec
from timepoint.batch.summary import BatchSummary

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
