"""``timepoint export``: a store table as JSONL or Parquet, or a run's derived data.

``timepoint export TABLE -o FILE``: ``--anonymize`` replaces entity ids and names by stable
pseudonyms, ``--drop-text`` leaves out free-text columns; see ``docs/schema.md`` for the tables
and their columns.

``timepoint export --format training RUN_ID -o FILE`` writes the run's training examples (one
per dialog turn and per on-demand answer, see :mod:`timepoint.knowledge.training_data`);
``--format benchmark`` its temporal-knowledge question/answer items
(:mod:`timepoint.knowledge.benchmark`). ``--batch ID`` instead of ``RUN_ID`` exports every
completed run of a batch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from timepoint.errors import TimepointError
from timepoint.knowledge.benchmark import benchmark_jsonl
from timepoint.knowledge.training_data import training_jsonl
from timepoint.scenario.writer import write_atomic
from timepoint.settings import Settings
from timepoint.store import Store, export_table, open_store
from timepoint.store.base import table_named
from timepoint.world.record import RunRecord

#: formats derived from run records, and what writes them
RUN_FORMATS: dict[str, Callable[[RunRecord], str]] = {
    "training": training_jsonl,
    "benchmark": benchmark_jsonl,
}


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint export``."""
    parser.add_argument(
        "target",
        nargs="?",
        metavar="TABLE|RUN_ID",
        help="table name (e.g. dialogs, llm_calls); a run id with --format training|benchmark",
    )
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    parser.add_argument(
        "--format",
        choices=("jsonl", "parquet", *RUN_FORMATS),
        help="output format (default: from the file suffix, JSONL unless .parquet); training "
        "and benchmark export runs rather than a table",
    )
    parser.add_argument(
        "--batch", metavar="ID", help="with --format training|benchmark: every run of a batch"
    )
    parser.add_argument("--anonymize", action="store_true", help="pseudonymize entity names/ids")
    parser.add_argument("--drop-text", action="store_true", help="leave out free-text columns")
    parser.add_argument(
        "--run",
        action="append",
        dest="runs",
        metavar="RUN_ID",
        help="only rows of this run (id or unique prefix); repeatable",
    )
    parser.add_argument("--salt", default="", help="secret mixed into pseudonyms")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Export the table or the runs; prints how many rows went where."""
    settings = Settings.from_env()
    if args.format in RUN_FORMATS:
        return _export_runs(args, settings)
    if args.target is None or args.batch:
        raise TimepointError(
            "timepoint export: name a TABLE (e.g. dialogs); --batch goes with "
            "--format training or --format benchmark"
        )
    table_named(args.target)
    with open_store(settings.db_url, home=settings.home, create=False) as store:
        count = export_table(
            store,
            args.target,
            args.output,
            format=args.format,
            run_ids=args.runs,
            anonymize=args.anonymize,
            drop_text=args.drop_text,
            salt=args.salt,
        )
    print(f"wrote {count} rows of {args.target} to {args.output}", file=sys.stderr)
    return 0


def _export_runs(args: argparse.Namespace, settings: Settings) -> int:
    if (args.target is None) == (args.batch is None):
        raise TimepointError(
            f"timepoint export --format {args.format}: give a RUN_ID or --batch ID (one of them)"
        )
    write = RUN_FORMATS[args.format]
    with open_store(settings.db_url, home=settings.home, create=False) as store:
        run_ids = [args.target] if args.target else _batch_runs(store, args.batch)
        text = "".join(write(store.load_run(run_id)) for run_id in run_ids)
    write_atomic(args.output, text)
    lines = text.count("\n")
    print(
        f"wrote {lines} {args.format} records of {len(run_ids)} run(s) to {args.output}",
        file=sys.stderr,
    )
    return 0


def _batch_runs(store: Store, batch_id: str) -> list[str]:
    store.batch(batch_id)
    runs = [job["run_id"] for job in store.jobs(batch_id) if job.get("run_id")]
    if not runs:
        raise TimepointError(f"batch {batch_id!r} has no runs to export yet; run or resume it")
    return runs
