"""A question set over time, as Vega-Lite charts of a
:class:`~timepoint.calibrate.scorecard.Scorecard`:

- :func:`history_spec`: one panel per question with every forecast made of it (p̂ as a dot on
  its Wilson interval, joined in the order they were made), the market's reference
  probability (dashed) where the question has one and its resolution (a green line at 1 or 0)
  once known;
- :func:`scores_by_month_spec`: the Brier score, log score and ECE of the forecasts made each
  month.

Like the rest of the report they render what the store holds and never call a model.
"""

from __future__ import annotations

from typing import Any

from timepoint.calibrate.scorecard import Scorecard
from timepoint.report.charts.base import Spec, enc, note, unit, values

HISTORY_TITLE = "Forecasts over time"
SCORES_TITLE = "Scores by month"
#: the scores drawn by month: (field of Scores, label)
MONTH_SCORES = (("brier", "Brier score"), ("log_score", "log score"), ("ece", "ECE"))
RESOLUTION_COLOUR = "#2ca02c"
MARKET_COLOUR = "#ff7f0e"
FORECAST_COLOUR = "#08519c"


def history_rows(card: Scorecard) -> list[dict[str, Any]]:
    """One row per stored forecast: the question, when it was made, p̂ with its interval,
    the Jeffreys estimate, the runs, and the question's market probability and resolution."""
    by_id = {r.question_id: r for r in card.rows}
    return [
        {
            "question": point.question_id,
            "made": point.made.isoformat(),
            "forecast": point.probability,
            "lower": point.lower,
            "upper": point.upper,
            "smoothed": point.smoothed,
            "runs": f"{point.yes_runs}/{point.runs}",
            "market": by_id[point.question_id].market_probability,
            "resolution": by_id[point.question_id].resolution,
        }
        for point in card.history
        if point.question_id in by_id
    ]


def _reference(field: str, colour: str, title: str, dash: list[int] | None = None) -> Spec:
    """A horizontal line at the question's ``field`` (constant per question), left out
    where the field is empty."""
    mark: Spec = {"type": "rule", "color": colour, "strokeWidth": 2}
    if dash:
        mark["strokeDash"] = dash
    return unit(
        mark,
        {
            "y": enc(field, "quantitative", aggregate="max"),
            "tooltip": [enc(field, "quantitative", aggregate="max", title=title, format=".2f")],
        },
        transform=[{"filter": f"isValid(datum.{field})"}],
    )


def history_spec(card: Scorecard) -> Spec:
    """Every forecast of every question over time, a panel per question: p̂ (dot) on its
    Wilson interval (bar), the market probability (dashed, where present) and the resolution
    (green, where known)."""
    rows = history_rows(card)
    if not rows:
        return note(HISTORY_TITLE, "no forecasts yet")
    scale = {"domain": [0, 1]}
    x = enc("made", "temporal", title="forecast made")
    y = enc("forecast", "quantitative", scale=scale, title="probability of yes")
    interval = unit(
        {"type": "rule", "strokeWidth": 3, "opacity": 0.5, "color": FORECAST_COLOUR},
        {"x": x, "y": enc("lower", "quantitative", scale=scale), "y2": {"field": "upper"}},
    )
    line = unit({"type": "line", "color": FORECAST_COLOUR, "opacity": 0.4}, {"x": x, "y": y})
    dots = unit(
        {"type": "point", "filled": True, "size": 60, "color": FORECAST_COLOUR},
        {
            "x": x,
            "y": y,
            "tooltip": [
                enc("made", "temporal", format="%Y-%m-%d %H:%M", title="made"),
                enc("runs", "nominal", title="runs saying yes"),
                *(enc(k, "quantitative", format=".2f") for k in ("forecast", "lower", "upper")),
                enc("smoothed", "quantitative", format=".3f", title="Jeffreys"),
            ],
        },
    )
    order = list(dict.fromkeys(r["question"] for r in rows))
    header = {"labelAngle": 0, "labelAlign": "left", "labelLimit": 200}
    return {
        "title": {
            "text": HISTORY_TITLE,
            "subtitle": "dot: p̂ on its Wilson interval · dashed orange: market · "
            "green: resolution (1 yes, 0 no)",
        },
        "data": values(rows),
        "facet": {"row": enc("question", "nominal", sort=order, title=None, header=header)},
        "spec": {
            "width": 420,
            "height": 110,
            "layer": [
                _reference("market", MARKET_COLOUR, "market", [5, 4]),
                _reference("resolution", RESOLUTION_COLOUR, "resolution"),
                interval,
                line,
                dots,
            ],
        },
        "resolve": {"scale": {"x": "independent"}},
    }


def month_rows(card: Scorecard) -> list[dict[str, Any]]:
    """One row per month and score that has a value."""
    return [
        {"month": month, "score": label, "value": value, "questions": scores.questions}
        for month, scores in card.by_month.items()
        for name, label in MONTH_SCORES
        if (value := getattr(scores, name)) is not None
    ]


def scores_by_month_spec(card: Scorecard) -> Spec:
    """The Brier score, log score and ECE (lower is better) of the forecasts made each month,
    for the resolved questions."""
    rows = month_rows(card)
    if not rows:
        return note(SCORES_TITLE, "no resolved forecasts yet")
    x = enc("month", "ordinal", title="month forecast", sort=None, axis={"labelAngle": 0})
    colour = enc("score", "nominal", sort=[label for _, label in MONTH_SCORES], title=None)
    return {
        "title": {"text": SCORES_TITLE, "subtitle": "of the resolved questions; lower is better"},
        "data": values(rows),
        "width": 420,
        "height": 220,
        "layer": [
            unit("line", {"x": x, "y": enc("value", "quantitative"), "color": colour}),
            unit(
                {"type": "point", "filled": True, "size": 60},
                {
                    "x": x,
                    "y": enc("value", "quantitative", title="score"),
                    "color": colour,
                    "tooltip": [
                        enc("month", "ordinal"),
                        enc("score", "nominal"),
                        enc("value", "quantitative", format=".3f"),
                        enc("questions", "quantitative", title="questions scored"),
                    ],
                },
            ),
        ],
    }
