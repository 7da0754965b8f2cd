"""``timepoint runs``: list stored runs as a compact table or as JSON lines.

Each run shows its seed and, for a run a batch made, the overrides its job set: one column per
override path found among the listed runs (``parameters`` in the JSON lines), so the runs of a
sweep read by what they varied.

The store is the one ``TIMEPOINT_DB_URL`` names, else ``$TIMEPOINT_HOME/timepoint.db``
(``TIMEPOINT_HOME`` defaults to ``./runs``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from timepoint.report.parameters import parameter_cells, parameter_columns, run_parameters
from timepoint.settings import Settings
from timepoint.store import open_store, store_target

if TYPE_CHECKING:
    from timepoint.store import RunSummary

#: the table's columns; the parameter columns of the listed runs follow ``seed``
COLUMNS = ("run_id", "scenario", "mode", "status", "seed", "started", "duration", "calls",
           "tokens", "cost", "provider")  # fmt: skip
NUMERIC = {"seed", "duration", "calls", "tokens", "cost"}


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint runs``."""
    parser.add_argument("--scenario", help="only runs of this scenario id")
    parser.add_argument("--mode", help="only runs in this temporal mode")
    parser.add_argument("--status", help="only runs with this status (completed, failed, running)")
    parser.add_argument(
        "--since", metavar="DATE", help="runs started on or after DATE (YYYY-MM-DD)"
    )
    parser.add_argument("--until", metavar="DATE", help="runs started on or before DATE")
    parser.add_argument("--min-cost", type=float, metavar="USD", help="runs costing at least USD")
    parser.add_argument("--max-cost", type=float, metavar="USD", help="runs costing at most USD")
    parser.add_argument("--text", help="case-insensitive text in id, scenario, title or error")
    parser.add_argument(
        "--limit", type=int, default=50, metavar="N", help="show at most N runs (default 50)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """List the runs matching the filters, newest first."""

    settings = Settings.from_env()
    target = store_target(settings.db_url, home=settings.home)
    if isinstance(target, Path) and not target.exists():
        print(
            f"no runs yet: {target} does not exist (run `timepoint run SCENARIO`)", file=sys.stderr
        )
        return 0
    filters = {
        "scenario": args.scenario,
        "mode": args.mode,
        "status": args.status,
        "since": args.since,
        "until": args.until,
        "min_cost": args.min_cost,
        "max_cost": args.max_cost,
        "text": args.text,
    }
    with open_store(settings.db_url, home=settings.home, create=False) as store:
        runs = store.list_runs(limit=args.limit + 1, **{k: v for k, v in filters.items() if v})
        shown = runs[: args.limit]
        parameters = run_parameters(store, [r.run_id for r in shown])
    if args.json:
        for run in shown:
            row = run.model_dump(mode="json") | {"parameters": parameters.get(run.run_id, {})}
            print(json.dumps(row, default=str))
        return 0
    if not shown:
        print("no runs match", file=sys.stderr)
        return 0
    swept = parameter_columns(parameters)
    after = COLUMNS.index("seed") + 1
    header = [*COLUMNS[:after], *swept, *COLUMNS[after:]]
    rows = [_cells(r, parameter_cells(parameters.get(r.run_id, {}), swept)) for r in shown]
    print(format_table(rows, header))
    if len(runs) > args.limit:
        print(f"(more runs match; raise --limit above {args.limit})", file=sys.stderr)
    return 0


def _cells(run: RunSummary, parameters: Sequence[str] = ()) -> list[str]:
    duration = "" if run.duration_s is None else f"{run.duration_s:.1f}s"
    return [
        run.run_id,
        run.scenario_id,
        run.mode,
        run.status,
        str(run.seed),
        *parameters,
        run.started.strftime("%Y-%m-%d %H:%M"),
        duration,
        str(run.llm_calls),
        str(run.tokens),
        f"${run.cost_usd:.4f}",
        run.provider,
    ]


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] = COLUMNS) -> str:
    """Rows as left-aligned columns under ``header`` (numbers right-aligned)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if h in NUMERIC else c.ljust(w)
            for c, w, h in zip(cells, widths, header, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])
