"""``timepoint sweep NOTEBOOK --grid seed=0..19``: execute a notebook over a parameter grid.

Each grid point is one papermill execution on the local or Dask backend; executed notebooks go
to ``<TIMEPOINT_HOME>/sweeps/<batch_id>/``. See :mod:`timepoint.batch.sweep`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import yaml

from timepoint.batch.definition import parse_axis
from timepoint.batch.sweep import run_sweep
from timepoint.errors import BatchError
from timepoint.settings import Settings
from timepoint.store import open_store


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", help="notebook with a cell tagged 'parameters'")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="an axis: seed=0..19 (inclusive) or model=a,b (YAML values); repeatable",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter for every execution (YAML value); repeatable",
    )
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument("--backend", choices=["local", "dask"], default="local")
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler tcp://host:port"
    )
    parser.add_argument("--resume", default=None, metavar="BATCH_ID", help="finish a sweep")
    parser.add_argument("--attempts", type=int, default=1, help="executions per grid point")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per cell")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:

    axes = dict(parse_axis(text) for text in args.grid)
    parameters = {}
    for text in args.param:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise BatchError(f"--param {text!r}: expected NAME=VALUE, e.g. budget=0.5")
        parameters[name.strip()] = yaml.safe_load(value)
    summary = run_sweep(
        args.notebook,
        axes,
        workers=args.workers,
        backend="dask" if args.scheduler else args.backend,
        cluster=args.scheduler,
        parameters=parameters,
        resume=args.resume,
        attempts=args.attempts,
        kernel_name=args.kernel,
        timeout_s=args.timeout,
        progress=not args.quiet,
    )
    print(summary.describe())
    settings = Settings.from_env()
    with open_store(settings.db_url, home=settings.home) as store:
        print("\n".join(notebook_lines(store.jobs(summary.batch_id))))
    return 0 if summary.status == "completed" and not summary.failed else 1


def notebook_lines(jobs: list[dict[str, Any]]) -> list[str]:
    """A line per executed notebook of a sweep: the parameters that vary over the grid, its
    status, path and run."""
    given = [(row.get("spec_json") or {}).get("parameters") or {} for row in jobs]
    names = {name for parameters in given for name in parameters}
    swept = [n for n in sorted(names) if len({repr(p.get(n)) for p in given}) > 1]
    lines = ["executed notebooks:"]
    for row in sorted(jobs, key=_grid_order):
        spec = row.get("spec_json") or {}
        parameters = spec.get("parameters") or {}
        shown = " ".join(f"{k}={parameters.get(k)}" for k in swept) or "(one grid point)"
        output = str(spec.get("output") or "")
        if output and not os.path.relpath(output).startswith(".."):
            output = os.path.relpath(output)
        run = f"  run {row['run_id']}" if row.get("run_id") else ""
        lines.append(f"  {shown}  {row['status']}  {output}{run}")
    return lines


def _grid_order(row: dict[str, Any]) -> list[tuple[str, tuple[int, float, str]]]:
    """Jobs by their parameters, numbers in numeric order (seed 2 before seed 10)."""
    parameters = (row.get("spec_json") or {}).get("parameters") or {}
    return [
        (k, (0, float(v), "") if isinstance(v, int | float) else (1, 0.0, str(v)))
        for k, v in parameters.items()
    ]
