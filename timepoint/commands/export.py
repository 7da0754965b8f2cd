"""``timepoint export TABLE -o FILE``: write a store table as JSONL or Parquet.

``--anonymize`` replaces entity ids and names by stable pseudonyms, ``--drop-text`` leaves out
free-text columns; see ``docs/schema.md`` for the tables and their columns.
"""

from __future__ import annotations

import argparse
import sys

from timepoint.settings import Settings
from timepoint.store import export_table, open_store
from timepoint.store.base import table_named


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint export``."""
    parser.add_argument("table", metavar="TABLE", help="table name, e.g. dialogs or llm_calls")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    parser.add_argument(
        "--format",
        choices=("jsonl", "parquet"),
        help="output format (default: from the file suffix, JSONL unless .parquet)",
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
    """Export the table; prints how many rows went where."""

    table_named(args.table)
    settings = Settings.from_env()
    with open_store(settings.db_url, home=settings.home, create=False) as store:
        count = export_table(
            store,
            args.table,
            args.output,
            format=args.format,
            run_ids=args.runs,
            anonymize=args.anonymize,
            drop_text=args.drop_text,
            salt=args.salt,
        )
    print(f"wrote {count} rows of {args.table} to {args.output}", file=sys.stderr)
    return 0
