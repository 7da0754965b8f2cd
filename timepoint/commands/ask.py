"""``timepoint ask RUN_ID "question"``: answer a question about a stored run (M5, M9).

Detail is raised only where the question needs it; the answer, the elevations and their tokens
are added to the run's record (run folder and store).
"""

from __future__ import annotations

import argparse
import json

from timepoint.engine.run import load_run
from timepoint.kernel.progress import Ticker
from timepoint.settings import Settings


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint ask``."""
    parser.add_argument("run_id", help="run id (a unique prefix is enough)")
    parser.add_argument("question", help='e.g. "What did Madison know before the dinner?"')
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Load the run, answer, print the answer with its citations and cost."""

    run = load_run(args.run_id, settings=Settings.from_env())
    with Ticker("timepoint ask: answering"):
        answer = run.ask(args.question)
    if args.json:
        print(json.dumps(answer.model_dump(mode="json"), indent=1))
        return 0
    print(answer.text)
    where = answer.timepoint_id or "before the first timepoint"
    print(f"\n[{answer.kind}] subject {answer.entity_id or '-'} at {where}; {answer.tokens} tokens")
    for line in answer.elevated:
        print(f"elevated: {line}")
    usage = run.record.usage
    print(
        f"run {run.run_id}: {usage.generation_tokens:,} generation tokens, "
        f"{usage.on_demand_tokens:,} on demand"
    )
    return 0
