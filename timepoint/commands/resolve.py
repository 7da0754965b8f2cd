"""``timepoint resolve QUESTIONS.yaml``: record the set's resolutions in the store and print
the scores of its latest forecasts (Brier, fair Brier, skill, log score, Murphy, ECE)."""

from __future__ import annotations

import argparse


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint resolve``."""
    parser.add_argument("file", help="question set (YAML) whose resolutions are recorded")
    parser.add_argument("--json", action="store_true", help="print the scorecard as JSON")
    parser.set_defaults(handler=handle)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def handle(args: argparse.Namespace) -> int:
    """Record the outcomes, then print each question's forecast against it and the scores."""
    from pathlib import Path

    from timepoint.calibrate import load_questions
    from timepoint.calibrate.resolve import resolve
    from timepoint.calibrate.scorecard import scorecard
    from timepoint.settings import Settings
    from timepoint.store import open_store

    questions = load_questions(args.file)
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
