"""What a calibration report shows, from a :class:`~timepoint.calibrate.scorecard.Scorecard`:
the score table, reliability diagrams (equal-width and quantile bins with bootstrap bands),
each forecast with its Wilson interval and Jeffreys estimate, forecasts against market
probabilities, the questions with links to the batch and every run behind each forecast, and
the scores by month (the charts over time are in :mod:`timepoint.calibrate.over_time`).

Tables are Markdown built with :mod:`timepoint.report.markup` (values escaped, no HTML);
charts are Vega-Lite specifications, shown as SVG by :func:`timepoint.view.show`. Nothing here
calls a model: reports render what the store holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from timepoint.calibrate.forecast import forecast_many
from timepoint.calibrate.questions import load_questions
from timepoint.calibrate.resolve import resolve
from timepoint.calibrate.scorecard import ALL_SETS, QuestionRow, Scorecard, Scores, scorecard
from timepoint.engine.session import environment
from timepoint.report.charts.base import Spec, enc, note, unit, values
from timepoint.report.markup import link, text
from timepoint.store import open_store

_SCORES = (
    ("brier", "Brier score (lower is better)"),
    ("fair_brier", "fair Brier score of the raw ensembles (Ferro 2014)"),
    ("brier_skill_climatology", "Brier skill vs climatology"),
    ("brier_skill_half", "Brier skill vs 0.5"),
    ("brier_skill_market", "Brier skill vs market (questions with a market)"),
    ("log_score", "log score (mean negative log-likelihood, smoothed)"),
    ("reliability", "Murphy: reliability (lower is better)"),
    ("resolution", "Murphy: resolution (higher is better)"),
    ("uncertainty", "Murphy: uncertainty"),
    ("ece", "expected calibration error (10 bins)"),
)


def open_scorecard(
    questions: str | Path, *, home: str = "", db_url: str = "", n: int = 0, record: bool = True
) -> Scorecard:
    """The scorecard of a question-set file from the store that ``home``/``db_url`` name
    (default: the environment's).

    Args:
        questions: the question-set file, or the id of a question set in the store.
        home: ``TIMEPOINT_HOME`` to use instead of the environment's.
        db_url: store URL to use instead of the environment's.
        n: when above 0, forecast every question from ``n`` runs first (this calls the
            model: offline unless a key is set); 0 only reads what is stored.
        record: record the file's resolutions first (no model is called).
    """
    changes: dict[str, Any] = {}
    if home:
        changes["home"] = Path(home)
    if db_url:
        changes["db_url"] = db_url
    settings = environment().model_copy(update=changes)
    store = open_store(settings.db_url, home=Path(settings.home))
    if not str(questions).endswith((".yaml", ".yml")):
        return scorecard(store, str(questions))
    loaded = load_questions(questions)
    if n > 0:
        forecast_many(loaded.questions, n, settings=settings, store=store)
    if record:
        resolve(loaded, store)
    return scorecard(store, loaded.id)


def _value(number: float | None) -> str:
    return "–" if number is None else f"{number:.3f}"


def _set_name(card: Scorecard) -> str:
    return "All question sets" if card.question_set == ALL_SETS else text(card.question_set)


def summary_markdown(card: Scorecard) -> str:
    """One line naming the question set: its questions, how many have a forecast and how many
    are resolved, and when the newest forecast was made."""
    rows = card.rows
    made = [r.made for r in rows if r.made is not None]
    newest = f"; newest forecast {max(made):%Y-%m-%d %H:%M} UTC" if made else ""
    return (
        f"**{_set_name(card)}**: {len(rows)} questions, "
        f"{sum(r.probability is not None for r in rows)} forecast, "
        f"{sum(r.resolution is not None for r in rows)} resolved{newest}."
    )


def scores_markdown(card: Scorecard) -> str:
    """The score table of the question set."""
    scores = card.scores
    name = _set_name(card)
    if scores.questions == 0:
        return (
            f"**{name}**: no question has both a forecast and a resolution "
            "yet; run `timepoint forecast` and `timepoint resolve` on its file."
        )
    lines = [
        f"**{name}**: {scores.questions} resolved questions scored (of {len(card.rows)}).",
        "",
        "| score | value |",
        "|---|---:|",
        *(f"| {label} | {_value(getattr(scores, name))} |" for name, label in _SCORES),
    ]
    return "\n".join(lines)


def _outcome(value: float | None) -> str:
    if value is None:
        return "–"
    return "yes" if value >= 0.5 else "no"


def _batch(row: QuestionRow, batches_href: str) -> str:
    """The batch of a row's forecast: its name, linked to its page by ``batches_href``."""
    if not row.batch_id:
        return "–"
    return (
        link(row.batch_id, batches_href.format(batch_id=row.batch_id))
        if batches_href
        else (text(row.batch_id))
    )


def questions_markdown(card: Scorecard, batches_href: str = "") -> str:
    """One row per question: latest forecast, interval, market, outcome, its number of runs
    and the batch that made them (``batches_href`` formats a batch's page, e.g.
    ``../batches/{batch_id}.html``; empty: no link). :func:`runs_markdown` links every run."""
    lines = [
        "| question | forecast | 90% interval | market | outcome | runs | batch |",
        "|---|---:|---|---:|---|---:|---|",
    ]
    for row in card.rows:
        forecast = "–" if row.probability is None else f"{row.probability:.2f}"
        interval = "–" if row.lower is None else f"{row.lower:.2f}–{row.upper:.2f}"
        market = _value(row.market_probability)
        label = f"{text(row.question_id)}: {text(row.text)}"
        lines.append(
            f"| {label} | {forecast} ({row.yes_runs}/{row.runs}) | {interval} | {market} | "
            f"{_outcome(row.resolution)} | {len(row.run_ids)} | {_batch(row, batches_href)} |"
        )
    return "\n".join(lines)


def runs_markdown(
    card: Scorecard, runs_href: str = "../runs/{run_id}.html", batches_href: str = ""
) -> str:
    """Every run behind each question's latest forecast, one list item per question: the
    batch (linked by ``batches_href``) and each run (linked by ``runs_href``, labelled by the
    end of its id; empty: the full ids, unlinked)."""
    items = []
    for row in card.rows:
        if not row.run_ids:
            continue
        runs = ", ".join(
            link(r[-6:], runs_href.format(run_id=r)) if runs_href else text(r) for r in row.run_ids
        )
        items.append(
            f"- **{text(row.question_id)}** ({len(row.run_ids)} runs, batch "
            f"{_batch(row, batches_href)}): {runs}"
        )
    return "\n".join(items) if items else "No forecasts yet."


def history_markdown(card: Scorecard) -> str:
    """Scores of the forecasts made each month (every forecast, not only the latest)."""
    if not card.by_month:
        return "No forecasts yet."
    lines = ["| month | questions | Brier | log score | ECE |", "|---|---:|---:|---:|---:|"]
    for month, scores in card.by_month.items():
        lines.append(_month_row(month, scores))
    return "\n".join(lines)


def _month_row(month: str, scores: Scores) -> str:
    return (
        f"| {text(month)} | {scores.questions} | {_value(scores.brier)} | "
        f"{_value(scores.log_score)} | {_value(scores.ece)} |"
    )


def reliability_spec(card: Scorecard, strategy: str = "uniform") -> Spec:
    """The reliability diagram: observed frequency against mean forecast per bin, with the
    bootstrap band of each bin and the diagonal of perfect calibration."""
    bins = card.bins_uniform if strategy == "uniform" else card.bins_quantile
    title = f"Reliability ({'equal-width' if strategy == 'uniform' else 'quantile'} bins)"
    if not bins:
        return note(title, "no resolved forecasts yet")
    scale = {"domain": [0, 1]}
    x = enc("mean_forecast", "quantitative", scale=scale, title="mean forecast")
    diagonal = unit(
        {"type": "line", "color": "#999", "strokeDash": [4, 4]},
        {"x": enc("p", "quantitative", scale=scale), "y": enc("p", "quantitative", scale=scale)},
        data=values([{"p": 0.0}, {"p": 1.0}]),
    )
    band = unit(
        {"type": "rule", "strokeWidth": 2, "color": "#9ecae1"},
        {"x": x, "y": enc("band_low", "quantitative", scale=scale), "y2": {"field": "band_high"}},
    )
    points = unit(
        {"type": "point", "filled": True, "color": "#08519c"},
        {
            "x": x,
            "y": enc("observed", "quantitative", scale=scale, title="observed frequency"),
            "size": enc("count", "quantitative", title="questions", legend=None),
            "tooltip": [enc(k, "quantitative") for k in ("count", "mean_forecast", "observed")],
        },
    )
    return {
        "title": title,
        "width": 360,
        "height": 360,
        "layer": [diagonal, {"data": values(bins), "layer": [band, points]}],
    }


def market_spec(card: Scorecard) -> Spec:
    """Forecasts against market probabilities, for the questions that have both."""
    rows: list[dict[str, Any]] = [
        {"question": r.question_id, "forecast": r.probability, "market": r.market_probability}
        for r in card.rows
        if r.probability is not None and r.market_probability is not None
    ]
    title = "Forecast vs market"
    if not rows:
        return note(title, "no question has both a forecast and a market probability")
    scale = {"domain": [0, 1]}
    return unit(
        {"type": "point", "filled": True, "size": 80},
        {
            "x": enc("market", "quantitative", scale=scale, title="market probability"),
            "y": enc("forecast", "quantitative", scale=scale, title="ensemble forecast"),
            "tooltip": [enc("question", "nominal"), enc("forecast", "quantitative")],
        },
        data=values(rows),
        title=title,
        width=360,
        height=360,
    )


def forecasts_spec(card: Scorecard) -> Spec:
    """Each question's latest forecast: the share of runs that said yes (dot), its Wilson
    interval (bar) and the Jeffreys-smoothed probability (tick), coloured by the outcome."""
    rows: list[dict[str, Any]] = [
        {
            "question": r.question_id,
            "forecast": r.probability,
            "lower": r.lower,
            "upper": r.upper,
            "smoothed": r.smoothed,
            "runs": f"{r.yes_runs}/{r.runs}",
            "outcome": "unresolved" if r.resolution is None else _outcome(r.resolution),
        }
        for r in card.rows
        if r.probability is not None
    ]
    title = "Forecasts with their intervals"
    if not rows:
        return note(title, "no forecasts yet")
    scale = {"domain": [0, 1]}
    y = enc("question", "nominal", title=None, sort=None)
    colour = enc(
        "outcome",
        "nominal",
        scale={"domain": ["yes", "no", "unresolved"], "range": ["#08519c", "#d62728", "#999"]},
    )
    interval = unit(
        {"type": "rule", "strokeWidth": 3, "opacity": 0.5},
        {
            "x": enc("lower", "quantitative", scale=scale, title="probability of yes"),
            "x2": {"field": "upper"},
            "y": y,
            "color": colour,
        },
    )
    share = unit(
        {"type": "point", "filled": True, "size": 70},
        {
            "x": enc("forecast", "quantitative"),
            "y": y,
            "color": colour,
            "tooltip": [
                enc("question", "nominal"),
                enc("runs", "nominal", title="runs saying yes"),
                *(enc(k, "quantitative", format=".2f") for k in ("forecast", "lower", "upper")),
                enc("smoothed", "quantitative", format=".3f"),
            ],
        },
    )
    smoothed = unit(
        {"type": "tick", "color": "#333"}, {"x": enc("smoothed", "quantitative"), "y": y}
    )
    return {
        "title": title,
        "width": 360,
        "height": {"step": 22},
        "data": values(rows),
        "layer": [interval, share, smoothed],
    }
