"""Scorecards from the store (by question set and by month), and the shipped question set
forecast, resolved and scored offline from a fresh store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from timepoint.calibrate import forecast_many, load_questions
from timepoint.calibrate.resolve import resolve
from timepoint.calibrate.scorecard import scorecard
from timepoint.errors import CalibrationError
from timepoint.store import open_store

from .conftest import ROOT


def test_scores_by_set_and_by_month_use_the_latest_forecast(tmp_path):
    store = open_store(tmp_path / "t.db")
    for qid, resolution, market in (("a", 1.0, 0.7), ("b", 0.0, None)):
        store.save_question(
            qid, question_set="s", text=qid, resolution=resolution, market_probability=market
        )
    rows = [
        ("a", datetime(2026, 11, 3, tzinfo=UTC), 0.2, 2, 10),
        ("a", datetime(2026, 12, 3, tzinfo=UTC), 0.8, 8, 10),
        ("b", datetime(2026, 12, 4, tzinfo=UTC), 0.3, 3, 10),
    ]
    for n, (qid, made, p, k, runs) in enumerate(rows):
        store.save_forecast(
            f"f{n}",
            question_id=qid,
            made=made,
            probability=p,
            lower=0.0,
            upper=1.0,
            runs=runs,
            yes_runs=k,
            run_ids=[f"r{n}"],
            smoothed=(k + 0.5) / (runs + 1),
        )
    card = scorecard(store, "s", bootstrap=50)
    latest = {r.question_id: (r.probability, r.forecasts, r.run_ids) for r in card.rows}
    assert latest == {"a": (0.8, 2, ["r1"]), "b": (0.3, 1, ["r2"])}
    assert card.scores.brier == pytest.approx((0.2**2 + 0.3**2) / 2)
    assert card.scores.brier_skill_market == pytest.approx(1 - 0.04 / 0.09)  # a only
    assert card.scores.fair_brier == pytest.approx(
        ((0.8 - 1) ** 2 - 8 * 2 / 900 + 0.3**2 - 3 * 7 / 900) / 2
    )
    assert list(card.by_month) == ["2026-11", "2026-12"]
    assert card.by_month["2026-11"].brier == pytest.approx(0.64)
    assert card.by_month["2026-12"].questions == 2
    assert sum(b["count"] for b in card.bins_uniform) == 2
    with pytest.raises(CalibrationError, match="no questions of set 'other'"):
        scorecard(store, "other")


def test_the_library_question_set_forecasts_resolves_and_scores_offline(settings):
    questions = load_questions(ROOT / "questions" / "library.yaml")
    store = open_store(settings.db_url, home=settings.home)
    forecasts = forecast_many(questions.questions, n=2, settings=settings, store=store)
    assert [f.runs for f in forecasts] == [2] * len(questions.questions)
    judged = forecasts[[q.id for q in questions.questions].index("er-scanner-judged")]
    assert all(e.kind == "judge" for e in judged.extractions)
    resolve(questions, store)
    card = scorecard(store, "library", bootstrap=50)
    assert card.scores.questions == len(questions.questions) >= 5
    assert card.scores.brier is not None and card.scores.ece is not None
