"""``timepoint sweep NOTEBOOK --grid seed=0..19``: execute a notebook over a parameter grid.

Each grid point is one papermill execution on the local or Dask backend; executed notebooks go
to ``<TIMEPOINT_HOME>/sweeps/<batch_id>/``. See :mod:`timepoint.batch.sweep`.
"""

from __future__ import annotations

import argparse

import yaml

from timepoint.batch.definition import parse_axis
from timepoint.batch.sweep import run_sweep
from timepoint.errors import BatchError


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
    return 0 if summary.status == "completed" and not summary.failed else 1
