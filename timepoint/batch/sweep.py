"""Notebook sweeps: a parameterized notebook executed with papermill once per grid point.

``timepoint sweep notebooks/run_scenario.ipynb --grid seed=0..19 --workers 4`` runs on the same
backends as simulation batches (local processes or Dask), is tracked in the same ``batches`` and
``batch_jobs`` tables, and resumes the same way. Each executed notebook is written to
``<home>/sweeps/<batch_id>/<job_id>.ipynb``; when its outputs name a run of the store (the run
id the notebook printed), the job row links that run.

The notebook's kernel inherits the worker's environment; the sweep sets ``TIMEPOINT_HOME`` and
``TIMEPOINT_DB_URL`` in each worker so the notebook's runs land in the sweep's store. Costs of
notebook runs are not reserved in advance: pass a ``budget`` parameter that the notebook hands
to its runs to cap each one.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from timepoint.batch.driver import Task
from timepoint.batch.execution import Execution, execute
from timepoint.batch.job import MESSAGE_CHARS, JobContext, JobResult
from timepoint.batch.resume import load_history
from timepoint.batch.runner import plan_specs, shareable_url
from timepoint.batch.spec import canonical
from timepoint.batch.summary import BatchSummary
from timepoint.engine.session import environment
from timepoint.errors import BatchError, RunNotFound
from timepoint.llm.budget import Budget
from timepoint.settings import Settings
from timepoint.store import open_store

RUN_ID = re.compile(r"\b\d{8}-\d{6}-[0-9a-f]{6}\b")


class NotebookSpec(BaseModel):
    """One notebook execution of a sweep."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    notebook: str
    parameters: dict[str, Any]
    output: str = ""
    kernel_name: str | None = None
    timeout_s: float | None = None

    def describe(self) -> dict[str, Any]:
        return {"notebook": self.notebook, "parameters": self.parameters, "output": self.output}


def notebook_specs(
    notebook: str | Path,
    axes: Mapping[str, Iterable[Any]],
    parameters: Mapping[str, Any] | None = None,
    *,
    kernel_name: str | None = None,
    timeout_s: float | None = None,
) -> list[NotebookSpec]:
    """One spec per combination of ``axes`` on top of ``parameters``.

    Job ids hash the notebook's content and the parameters, so an edited notebook is a new
    sweep.

    Raises:
        BatchError: the notebook is missing or an axis is empty.
    """
    path = Path(notebook).expanduser().resolve()
    if not path.is_file():
        raise BatchError(f"{notebook}: no such notebook; give the path of an .ipynb file")
    content = hashlib.sha256(path.read_bytes()).hexdigest()
    materialized = {}
    for name, values in axes.items():
        values = (
            [values]
            if isinstance(values, str | bytes) or not isinstance(values, Iterable)
            else list(values)
        )
        if not values:
            raise BatchError(f"grid axis {name!r} is empty; give it at least one value")
        materialized[name] = values
    specs = []
    for combination in itertools.product(*materialized.values()):
        params = {**dict(parameters or {}), **dict(zip(materialized, combination, strict=True))}
        job_id = hashlib.sha256(f"{content}:{canonical(params)}".encode()).hexdigest()[:16]
        specs.append(
            NotebookSpec(
                job_id=job_id,
                notebook=str(path),
                parameters=params,
                kernel_name=kernel_name,
                timeout_s=timeout_s,
            )
        )
    return specs


def find_run_id(output: Path, store: Any) -> str | None:
    """The last run id printed in the executed notebook that the store knows."""
    import nbformat

    notebook = nbformat.read(str(output), as_version=4)
    found = None
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            text = out.get("text") or "".join(str(v) for v in out.get("data", {}).values())
            for candidate in RUN_ID.findall(str(text)):
                try:
                    found = store.resolve_run_id(candidate)
                except RunNotFound:
                    continue
    return found


def _environment(ctx: JobContext) -> None:
    os.environ["TIMEPOINT_HOME"] = str(Path(ctx.settings.home).resolve())
    url = ctx.store_url or ctx.settings.db_url
    if url:
        os.environ["TIMEPOINT_DB_URL"] = url


def run_notebook_job(spec: NotebookSpec, ctx: JobContext, cap_usd: float | None) -> JobResult:
    """Execute one notebook (retrying per ``ctx.attempts``); never raises for a failed cell."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    _environment(ctx)
    output = Path(spec.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    store = ctx.open_store()
    try:
        store.upsert_job(ctx.batch_id, spec.job_id, spec=spec.describe(), status="running")
        error: BaseException | None = None
        step = None
        attempt = 0
        while True:
            attempt += 1
            error, step = None, None
            try:
                papermill.execute_notebook(
                    spec.notebook,
                    str(output),
                    parameters=spec.parameters,
                    kernel_name=spec.kernel_name,
                    progress_bar=False,
                    log_output=False,
                    cwd=str(Path(spec.notebook).parent),
                    execution_timeout=spec.timeout_s,
                )
            except PapermillExecutionError as failure:
                error, step = failure, f"cell {failure.cell_index}"
            except Exception as failure:
                error, step = failure, "kernel"
            if error is None or attempt >= ctx.attempts:
                break
            time.sleep(min(ctx.backoff_max_s, ctx.backoff_s * 2 ** (attempt - 1)))
        run_id = find_run_id(output, store) if output.is_file() else None
        cost, tokens = 0.0, 0
        if run_id is not None:
            usage = store.load_run(run_id).usage
            cost, tokens = usage.cost_usd, usage.prompt_tokens + usage.completion_tokens
        message = None
        if error is not None:
            ename, evalue = getattr(error, "ename", None), getattr(error, "evalue", None)
            detail = f"{ename}: {evalue}" if ename is not None else str(error)
            message = detail[:MESSAGE_CHARS]
        result = JobResult(
            job_id=spec.job_id,
            status="failed" if error is not None else "completed",
            run_id=run_id,
            cost_usd=cost,
            tokens=tokens,
            duration_s=time.perf_counter() - started,
            error_class=getattr(error, "ename", None) or (type(error).__name__ if error else None),
            step=step,
            message=message,
            retries=attempt - 1,
        )
        store.upsert_job(ctx.batch_id, spec.job_id, **result.row())
        return result.model_copy(update={"recorded": True})
    finally:
        store.close()


def run_sweep(
    notebook: str | Path,
    grid: Mapping[str, Iterable[Any]],
    *,
    workers: int = 2,
    backend: str = "local",
    cluster: Any = None,
    parameters: Mapping[str, Any] | None = None,
    resume: str | None = None,
    batch_id: str | None = None,
    attempts: int = 1,
    kernel_name: str | None = None,
    timeout_s: float | None = None,
    settings: Settings | None = None,
    store: Any = None,
    progress: bool = True,
) -> BatchSummary:
    """Execute ``notebook`` once per point of ``grid`` with papermill, in parallel.

    Args:
        notebook: a notebook with a cell tagged ``parameters``.
        grid: parameter name -> values; one execution per combination.
        workers: worker processes (local) or LocalCluster workers (dask).
        backend: ``local`` or ``dask``; ``cluster`` as for :func:`run_batch`.
        parameters: parameters passed to every execution.
        resume: the id of a sweep to finish; completed executions are skipped.
        batch_id: a name for a new sweep (default: ``sweep-`` and a hash of the job ids).
        attempts: executions per grid point before it counts as failed.
        kernel_name: the Jupyter kernel (default: the notebook's).
        timeout_s: per-cell timeout.
        settings: environment settings (home, store); default from the environment.
        store: the run store the settings name.
        progress: show a progress bar.

    Returns:
        A :class:`BatchSummary`; output notebooks are under ``<home>/sweeps/<batch_id>/``.
    """

    settings = environment(settings)
    store = store if store is not None else open_store(settings.db_url, home=settings.home)
    store_url = shareable_url(store)
    specs = notebook_specs(notebook, grid, parameters, kernel_name=kernel_name, timeout_s=timeout_s)
    plan = plan_specs(specs, None, job_ids=lambda spec: spec.job_id)
    batch_id = resume or batch_id or f"sweep-{plan.specs_hash[:12]}"
    history = load_history(store, batch_id, plan.specs_hash, resume is not None)
    store.create_batch(
        batch_id,
        {
            "kind": "notebook sweep",
            "notebook": specs[0].notebook,
            "grid": {k: list(v) for k, v in grid.items()},
            "parameters": dict(parameters or {}),
            "jobs": plan.total,
            "specs_hash": plan.specs_hash,
            "backend": backend,
            "workers": workers,
        },
    )
    folder = Path(settings.home).resolve() / "sweeps" / batch_id

    def tasks() -> Iterator[Task]:
        for spec in specs:
            if spec.job_id not in history.completed:
                spec = spec.model_copy(update={"output": str(folder / f"{spec.job_id}.ipynb")})
                yield Task(spec.job_id, spec, spec.describe(), None)

    return execute(
        Execution(
            store=store,
            batch_id=batch_id,
            backend=backend,
            workers=workers,
            cluster=cluster,
            threads_per_worker=1,
            ctx=JobContext(
                batch_id=batch_id,
                settings=settings,
                attempts=attempts,
                store_url=store_url,
            ),
            fn=run_notebook_job,
            ledger=Budget("sweep"),
            total=plan.total,
            history=history,
            progress=progress,
        ),
        tasks(),
    )
