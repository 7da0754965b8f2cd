"""Batch files: a scenario, grid axes, replicates and caps in one YAML file.

``timepoint batch FILE.yaml`` runs one. The format (every key but ``scenario`` optional)::

    # batches/jefferson_seeds.yaml
    scenario: ../scenarios/showcase/jefferson_dinner.yaml  # relative to this file
    id: jefferson-seeds          # batch id; default: a hash of the job ids
    overrides:                   # dotted paths applied to every job
      timepoints.count: 1
    grid:                        # one job per combination of the axes
      seed: 0..19                # an inclusive range "a..b", a list, or one value
      models.actions.dialog_synthesis: [llama-3.1-8b, qwen-2.5-7b]
    replicates: 1                # runs per combination
    budget_usd: 5.0              # the batch cap (--budget overrides); null for none
    job_cap_usd: 0.5             # the most one job may spend (default: scenario budget)
    workers: 4                   # --workers overrides
    threads_per_worker: 16       # jobs each worker runs at once (--threads overrides);
                                 # default: the scenario's models.max_concurrency
    backend: local               # local | dask (--backend, --scheduler override)
    scheduler: null              # tcp://host:port of an existing Dask scheduler
    attempts: 3                  # attempts per job, retried with exponential backoff
    backoff_s: 1.0               # first wait between attempts
    fail_fast: false             # stop after the first failed job
    rpm: null                    # requests/minute for all workers (TIMEPOINT_LLM_RPM)

Grid axes: ``seed``, ``replicate``, or any dotted scenario path.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from timepoint.batch.spec import Grid, expand_grid
from timepoint.errors import BatchError

_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")


class BatchFile(BaseModel):
    """A batch definition as written in a batch file (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario: str
    id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    overrides: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, Any] = Field(default_factory=dict)
    replicates: int = Field(1, ge=1)
    budget_usd: float | None = Field(100.0, ge=0)
    job_cap_usd: float | None = Field(None, ge=0)
    workers: int = Field(4, ge=1)
    threads_per_worker: int | None = Field(None, ge=1)
    backend: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    attempts: int = Field(3, ge=1)
    backoff_s: float = Field(1.0, ge=0)
    fail_fast: bool = False
    rpm: int | None = Field(None, ge=1)


def axis_values(value: Any, axis: str) -> list[Any]:
    """The values of a grid axis: ``"a..b"`` (inclusive), a list, or a single value.

    Raises:
        BatchError: a range that runs backwards.
    """
    if isinstance(value, str):
        match = _RANGE.match(value)
        if match:
            start, stop = int(match.group(1)), int(match.group(2))
            if stop < start:
                raise BatchError(
                    f"grid axis {axis!r}: range {value!r} runs backwards; write {stop}..{start}"
                )
            return list(range(start, stop + 1))
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """A command-line axis ``NAME=VALUES``: ``seed=0..19``, ``models.model=a,b`` (YAML values).

    Raises:
        BatchError: no ``=`` or no name.
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise BatchError(
            f"--grid {text!r}: expected NAME=VALUES, e.g. seed=0..19 or model=llama-3.1-8b,qwen"
        )
    if _RANGE.match(raw):
        return name, axis_values(raw, name)
    if not raw.strip():
        return name, []
    return name, [yaml.safe_load(part) for part in raw.split(",")]


def load_batch_file(path: str | Path) -> tuple[BatchFile, Grid]:
    """Read a batch file and build its grid.

    Raises:
        BatchError: the file is missing, not YAML, has unknown keys (with a close match) or
            bad values, or an axis is empty or does not fit the scenario.
    """
    path = Path(path)
    if not path.is_file():
        raise BatchError(f"{path}: no such batch file; see 'timepoint batch --help' for the format")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise BatchError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise BatchError(f"{path}: expected a mapping with at least 'scenario:'")
    try:
        batch = BatchFile.model_validate(data)
    except ValidationError as error:
        raise BatchError(f"{path}: " + "; ".join(_problem(e) for e in error.errors())) from None
    scenario = Path(batch.scenario)
    if not scenario.is_absolute():
        scenario = path.parent / scenario
    axes = {name: axis_values(value, name) for name, value in batch.grid.items()}
    try:
        grid = expand_grid(scenario, axes, replicates=batch.replicates, overrides=batch.overrides)
    except BatchError as error:
        raise BatchError(f"{path}: {error}") from None
    return batch, grid


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(where, list(BatchFile.model_fields), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {where!r}{hint} allowed: {', '.join(BatchFile.model_fields)}"
    return f"{where}: {error['msg']} (got {error.get('input')!r})"
