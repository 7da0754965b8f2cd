"""``timepoint batch FILE.yaml``: run a batch file locally or on Dask, under a budget cap.

The batch file format is documented in :mod:`timepoint.batch.definition`. Before running, the
command prints the cost estimate and asks for confirmation (``--yes`` skips the question,
``--dry-run`` only prints the estimate).
"""

from __future__ import annotations

import argparse
import sys

from timepoint.batch import estimate_batch, run_batch
from timepoint.batch.definition import load_batch_file
from timepoint.settings import Settings

EPILOG = """batch file (YAML; every key but 'scenario' optional):
  scenario: ../scenarios/showcase/jefferson_dinner.yaml   # relative to the batch file
  id: jefferson-seeds                # default: a hash of the job ids
  overrides: {timepoints.count: 1}   # applied to every job
  grid:                              # one job per combination
    seed: 0..19                      # inclusive range, list, or one value
    models.actions.dialog_synthesis: [llama-3.1-8b, qwen-2.5-7b]
  replicates: 1
  budget_usd: 5.0                    # batch cap (--budget)
  job_cap_usd: 0.5                   # per-job cap (default: the scenario's budget)
  workers: 4                         # --workers
  threads_per_worker: 16             # jobs a worker runs at once (default: max_concurrency)
  backend: local                     # local | dask (--backend)
  scheduler: tcp://host:8786         # existing Dask scheduler (--scheduler)
  attempts: 3                        # per job, exponential backoff
  fail_fast: false
  rpm: 120                           # requests/minute for all workers together
"""


def register(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("file", help="batch file (YAML)")
    parser.add_argument("--workers", type=int, default=None, help="parallel workers")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="jobs each worker runs at once (default: the scenario's models.max_concurrency)",
    )
    parser.add_argument("--budget", type=float, default=None, metavar="USD", help="batch cap")
    parser.add_argument("--job-cap", type=float, default=None, metavar="USD", help="per-job cap")
    parser.add_argument("--backend", choices=["local", "dask"], default=None)
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler tcp://host:port"
    )
    parser.add_argument("--resume", default=None, metavar="BATCH_ID", help="finish a batch")
    parser.add_argument("--attempts", type=int, default=None, help="attempts per job")
    parser.add_argument("--dry-run", action="store_true", help="print the estimate and stop")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handle)


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; anything but y/yes (or no terminal) is no."""
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


def handle(args: argparse.Namespace) -> int:

    batch, grid = load_batch_file(args.file)
    settings = Settings.from_env()
    print(settings.describe(), file=sys.stderr)
    budget = args.budget if args.budget is not None else batch.budget_usd
    scheduler = args.scheduler or batch.scheduler
    backend = "dask" if scheduler else (args.backend or batch.backend)
    workers = args.workers or batch.workers
    threads = args.threads or batch.threads_per_worker
    estimate = estimate_batch(grid, settings=settings)
    print(estimate.describe())
    cap = f"${budget:.2f}" if budget is not None else "no cap"
    per_worker = f"{threads} job threads" if threads else "in-run concurrency job threads"
    print(f"budget cap: {cap}; backend: {backend}, {workers} workers × {per_worker}")
    if args.dry_run:
        return 0
    if not args.yes and not confirm(f"Run {len(grid)} jobs?"):
        print("not started; pass --yes to run without the question", file=sys.stderr)
        return 2
    summary = run_batch(
        grid,
        parallel_workers=workers,
        threads_per_worker=threads,
        budget_cap=budget,
        backend=backend,
        cluster=scheduler,
        resume=args.resume,
        batch_id=None if args.resume else batch.id,
        job_cap_usd=args.job_cap if args.job_cap is not None else batch.job_cap_usd,
        attempts=args.attempts or batch.attempts,
        backoff_s=batch.backoff_s,
        fail_fast=batch.fail_fast,
        settings=settings,
        rpm=batch.rpm,
        progress=not args.quiet,
        definition={"file": str(args.file), **batch.model_dump(mode="json")},
    )
    print(summary.describe())
    ok = summary.status == "completed" and not summary.failed
    if not ok:
        print(f"finish it with: timepoint batch {args.file} --resume {summary.batch_id}")
    return 0 if ok else 1
