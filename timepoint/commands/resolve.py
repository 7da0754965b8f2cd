"""``timepoint resolve QUESTIONS.yaml``: record the set's resolutions in the store and print
the scores of its latest forecasts (Brier, fair Brier, skill, log score, Murphy, ECE).

``--from-source`` first reads the resolution (and market probability) of imported questions
again from Polymarket (a closed market's price `--lead-hours` before it stopped trading),
and from Metaculus when a token is given (its terms are printed).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

from timepoint.calibrate import QuestionSet, load_questions
from timepoint.calibrate.connectors import metaculus, polymarket
from timepoint.calibrate.resolve import from_sources, resolve
from timepoint.calibrate.scorecard import scorecard
from timepoint.commands.import_questions import add_lead_hours
from timepoint.settings import Settings
from timepoint.store import open_store


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint resolve``."""
    parser.add_argument("file", help="question set (YAML) whose resolutions are recorded")
    parser.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    parser.add_argument(
        "--from-source",
        action="store_true",
        help="read resolutions of imported questions again from Polymarket / Metaculus",
    )
    parser.add_argument("--token", default=None, help="Metaculus token (default from env)")
    parser.add_argument("--polymarket-url", default=None, help="Gamma API base URL")
    parser.add_argument("--clob-url", default=None, help="Polymarket CLOB (price history) URL")
    add_lead_hours(parser)
    parser.add_argument("--metaculus-url", default=None, help="Metaculus base URL")
    parser.set_defaults(handler=handle)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def handle(args: argparse.Namespace) -> int:
    """Record the outcomes, then print each question's forecast against it and the scores."""
    questions = load_questions(args.file)
    if args.from_source:
        questions = _from_sources(questions, args)
    settings = Settings.from_env()
    store = open_store(settings.db_url, home=Path(settings.home))
    resolved = resolve(questions, store)
    card = scorecard(store, questions.id)
    if args.json:
        print(card.model_dump_json(indent=1))
        return 0
    by_id = {r.question_id: r for r in card.rows}
    for item in resolved:
        row = by_id[item.question_id]
        outcome = {True: "yes", False: "no", None: "unresolved"}[item.outcome]
        forecast = (
            f"p = {row.probability:.2f} from {row.yes_runs}/{row.runs} runs"
            if row.probability is not None
            else "no forecast yet"
        )
        print(f"{item.question_id}: {outcome}; {forecast}")
    scores = card.scores
    print(
        f"{questions.id}: {scores.questions} scored; "
        + ", ".join(
            f"{name} {_number(getattr(scores, name))}"
            for name in ("brier", "fair_brier", "brier_skill_climatology", "log_score", "ece")
        )
    )
    return 0


def _from_sources(questions: QuestionSet, args: argparse.Namespace) -> QuestionSet:
    sources = {q.source for q in questions.questions}
    token = args.token or os.environ.get("TIMEPOINT_METACULUS_TOKEN", "")
    markets = polymarket.PolymarketClient(
        args.polymarket_url or polymarket.GAMMA_URL, args.clob_url or polymarket.CLOB_URL
    )
    posts = None
    if "metaculus" in sources:
        print(metaculus.METACULUS_TERMS, file=sys.stderr)
        if token:
            posts = metaculus.MetaculusClient(token, args.metaculus_url or metaculus.BASE_URL)
        else:
            print("no Metaculus token: its questions keep the file's resolutions", file=sys.stderr)
    try:
        lead = timedelta(hours=args.lead_hours)
        return from_sources(questions, polymarket=markets, metaculus=posts, lead=lead)
    finally:
        markets.close()
        if posts is not None:
            posts.close()
