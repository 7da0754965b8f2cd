"""``timepoint forecast QUESTIONS.yaml``: forecast every question of a set from ensembles of
runs (one batch, under one budget), store the forecasts and print them.

The question-set format is documented in :mod:`timepoint.calibrate.questions`.
"""

from __future__ import annotations

import argparse
import json
import sys

from timepoint.calibrate import forecast_many, load_questions
from timepoint.settings import Settings


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint forecast``."""
    parser.add_argument("file", help="question set (YAML)")
    parser.add_argument("--n", type=int, default=20, help="runs per question (default 20)")
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        metavar="USD",
        help="cap of the runs and outcome judgements (default 10)",
    )
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument("--backend", choices=["local", "dask"], default="local")
    parser.add_argument(
        "--question", action="append", default=None, metavar="ID", help="only these questions"
    )
    parser.add_argument("--level", type=float, default=0.9, help="Wilson interval coverage")
    parser.add_argument("--resume", default=None, metavar="BATCH_ID", help="finish a forecast")
    parser.add_argument("--json", action="store_true", help="one JSON object per forecast")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Forecast the set's questions and print one line (or JSON object) per forecast."""
    questions = load_questions(args.file)
    chosen = [questions.get(q) for q in args.question] if args.question else questions.questions
    settings = Settings.from_env()
    print(settings.describe(), file=sys.stderr)
    forecasts = forecast_many(
        chosen,
        n=args.n,
        budget_cap=args.budget,
        backend=args.backend,
        parallel_workers=args.workers,
        level=args.level,
        settings=settings,
        resume=args.resume,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    for result in forecasts:
        if args.json:
            print(json.dumps(result.model_dump(mode="json", exclude={"extractions"})))
        else:
            print(result.describe())
    if forecasts:
        print(
            f"batch {forecasts[0].batch_id}; stored in {settings.db_url or settings.home}",
            file=sys.stderr,
        )
    return 0
