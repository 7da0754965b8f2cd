"""The scores of a question set, read from the store: the latest forecast of each question
against its resolution, by question set and by month the forecasts were made.

A :class:`Scorecard` holds everything the calibration page and notebook show: one row per
question (with the runs behind its forecast and its market probability, when there is one),
the scores of the resolved questions, reliability bins (equal-width and quantile, with
bootstrap bands), every forecast of every question (its history) and the scores per month.
It is plain data, so reports render it without calling a model again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timepoint.calibrate.reliability import ece, reliability
from timepoint.calibrate.scores import brier, brier_skill, fair_brier, log_score, murphy
from timepoint.errors import CalibrationError


class QuestionRow(BaseModel):
    """A question with its latest forecast and its resolution."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question_id: str
    text: str
    scenario: str = ""
    resolution: float | None = None
    market_probability: float | None = None
    forecast_id: str | None = None
    made: datetime | None = None
    probability: float | None = None
    lower: float | None = None
    upper: float | None = None
    smoothed: float | None = None
    runs: int = 0
    yes_runs: int = 0
    batch_id: str | None = None
    run_ids: list[str] = Field(default_factory=list)
    forecasts: int = 0


class ForecastPoint(BaseModel):
    """One stored forecast of a question (a point of its history)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question_id: str
    forecast_id: str
    made: datetime
    probability: float
    lower: float | None = None
    upper: float | None = None
    smoothed: float | None = None
    runs: int = 0
    yes_runs: int = 0


class Scores(BaseModel):
    """Scores of resolved, forecast questions (``None`` where undefined)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    questions: int
    brier: float | None = None
    fair_brier: float | None = None
    brier_skill_climatology: float | None = None
    brier_skill_half: float | None = None
    brier_skill_market: float | None = None
    log_score: float | None = None
    reliability: float | None = None
    resolution: float | None = None
    uncertainty: float | None = None
    ece: float | None = None


class Scorecard(BaseModel):
    """Everything a calibration report shows for one question set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question_set: str
    rows: list[QuestionRow]
    scores: Scores
    bins_uniform: list[dict[str, float]] = Field(default_factory=list)
    bins_quantile: list[dict[str, float]] = Field(default_factory=list)
    by_month: dict[str, Scores] = Field(default_factory=dict)
    #: every forecast of every question, oldest first within each question
    history: list[ForecastPoint] = Field(default_factory=list)


def _maybe(compute: Any, *args: Any) -> float | None:
    try:
        return float(compute(*args))
    except CalibrationError:
        return None


def _pairs(rows: list[QuestionRow]) -> tuple[list[float], list[float]]:
    """Forecasts and outcomes of rows that have both."""
    return (
        [float(r.probability or 0.0) for r in rows],
        [float(r.resolution or 0.0) for r in rows],
    )


def _smoothed(row: QuestionRow) -> float:
    return float(row.smoothed if row.smoothed is not None else row.probability or 0.0)


def score_rows(rows: list[QuestionRow]) -> Scores:
    """The scores of the rows that have both a forecast and a resolution."""
    done = [r for r in rows if r.probability is not None and r.resolution is not None]
    if not done:
        return Scores(questions=0)
    p, y = _pairs(done)
    parts = murphy(p, y)
    priced = [r for r in done if r.market_probability is not None]
    market_skill = None
    if priced:
        mp, my = _pairs(priced)
        market_skill = _maybe(brier_skill, mp, my, [r.market_probability for r in priced])
    fair = None
    if all(r.runs >= 2 for r in done):
        fair = _maybe(fair_brier, [r.yes_runs for r in done], [r.runs for r in done], y)
    return Scores(
        questions=len(done),
        brier=brier(p, y),
        fair_brier=fair,
        brier_skill_climatology=_maybe(brier_skill, p, y, "climatology"),
        brier_skill_half=_maybe(brier_skill, p, y, 0.5),
        brier_skill_market=market_skill,
        log_score=log_score([_smoothed(r) for r in done], y),
        reliability=parts.reliability,
        resolution=parts.resolution,
        uncertainty=parts.uncertainty,
        ece=ece(p, y),
    )


def _forecast_fields(forecast: Any) -> dict[str, Any]:
    """The fields a stored forecast row gives a question row and a forecast point alike."""
    return {
        "forecast_id": forecast["forecast_id"],
        "made": forecast["made"],
        "probability": forecast["probability"],
        "lower": forecast["lower"],
        "upper": forecast["upper"],
        "smoothed": forecast.get("smoothed"),
        "runs": forecast["runs"] or 0,
        "yes_runs": forecast["yes_runs"] or 0,
    }


#: the question set that stands for every question of the store
ALL_SETS = "*"


def scorecard(store: Any, question_set: str, *, bins: int = 10, bootstrap: int = 500) -> Scorecard:
    """The scorecard of ``question_set`` (:data:`ALL_SETS`: every question of the store) from
    the store's questions and forecasts.

    Raises:
        CalibrationError: the store has no questions of that set.
    """
    questions = store.questions(None if question_set == ALL_SETS else question_set)
    if not questions:
        raise CalibrationError(
            f"the store has no questions of set {question_set!r}; run `timepoint forecast` or "
            "`timepoint resolve` on its file first"
        )
    rows = []
    points: list[ForecastPoint] = []
    months: dict[str, list[QuestionRow]] = defaultdict(list)
    for question in questions:
        history = store.forecasts(question["question_id"])
        base = {
            "question_id": question["question_id"],
            "text": question["text"] or "",
            "scenario": question["scenario"] or "",
            "resolution": question["resolution"],
            "market_probability": question["market_probability"],
            "forecasts": len(history),
        }
        if history:
            latest = history[-1]
            base.update(
                _forecast_fields(latest),
                batch_id=latest["batch_id"],
                run_ids=list(latest.get("run_ids_json") or []),
            )
        row = QuestionRow(**base)
        rows.append(row)
        for forecast in history:
            if forecast["probability"] is not None:
                points.append(
                    ForecastPoint(question_id=row.question_id, **_forecast_fields(forecast))
                )
            month = forecast["made"].strftime("%Y-%m")
            months[month].append(
                row.model_copy(
                    update={
                        "probability": forecast["probability"],
                        "smoothed": forecast.get("smoothed"),
                        "runs": forecast["runs"] or 0,
                        "yes_runs": forecast["yes_runs"] or 0,
                    }
                )
            )
    done = [r for r in rows if r.probability is not None and r.resolution is not None]
    p, y = _pairs(done)
    uniform = reliability(p, y, bins, "uniform", bootstrap=bootstrap) if done else []
    quantile = reliability(p, y, min(bins, 5), "quantile", bootstrap=bootstrap) if done else []
    return Scorecard(
        question_set=question_set,
        rows=rows,
        scores=score_rows(rows),
        bins_uniform=[asdict(b) for b in uniform],
        bins_quantile=[asdict(b) for b in quantile],
        by_month={m: score_rows(r) for m, r in sorted(months.items())},
        history=points,
    )
