"""The batch summary chart: job statuses, and the distributions of cost and duration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from timepoint.report.charts.base import Spec, enc, note, to_altair, unit, values

STATUS_COLOURS = {
    "completed": "#31a354",
    "failed": "#de2d26",
    "running": "#3182bd",
    "pending": "#bdbdbd",
}


def _records(jobs: Any) -> list[Mapping[str, Any]]:
    to_dict = getattr(jobs, "to_dict", None)
    if callable(to_dict) and hasattr(jobs, "columns"):
        return list(to_dict("records"))
    return [job if isinstance(job, Mapping) else dict(job) for job in jobs]


def batch_data(jobs: Any) -> list[Spec]:
    """One row per job from ``store.jobs(batch_id)`` rows (dicts) or a DataFrame of them
    (``BatchSummary.jobs``): ``job_id``, ``status``, ``cost_usd``, ``duration_s``, ``tokens``,
    ``error_class`` and ``run_id``; missing numbers count as zero."""

    def number(value: Any) -> float:
        return float(value) if value is not None and value == value else 0.0

    return [
        {
            "job_id": job.get("job_id"),
            "status": job.get("status") or "unknown",
            "cost_usd": number(job.get("cost_usd")),
            "duration_s": number(job.get("duration_s")),
            "tokens": int(number(job.get("tokens"))),
            "error_class": job.get("error_class") or "",
            "run_id": job.get("run_id") or "",
        }
        for job in _records(jobs)
    ]


def batch_spec(jobs: Any, title: str = "Batch") -> Spec:
    """The batch summary as a Vega-Lite specification."""
    rows = batch_data(jobs)
    if not rows:
        return note(title, "the batch has no jobs")
    done = [r for r in rows if r["status"] == "completed"] or rows
    count = {"aggregate": "count", "type": "quantitative", "title": "jobs"}
    statuses = unit(
        "bar",
        {
            "x": count,
            "y": enc("status", "nominal", sort="-x", title=None),
            "color": enc(
                "status",
                "nominal",
                scale={"domain": list(STATUS_COLOURS), "range": list(STATUS_COLOURS.values())},
                legend=None,
            ),
            "tooltip": [enc("status", "nominal"), count],
        },
        data=values(rows),
        title="jobs by status",
    )
    histograms = [
        unit(
            "bar",
            {"x": enc(field, "quantitative", bin={"maxbins": 20}, title=axis), "y": count},
            data=values(done),
            title=caption,
        )
        for field, axis, caption in (
            ("cost_usd", "USD", "cost per job (USD)"),
            ("duration_s", "seconds", "duration per job (s)"),
        )
    ]
    panels = [{**panel, "width": 220, "height": 160} for panel in (statuses, *histograms)]
    return {"title": f"{title}: {len(rows)} jobs", "hconcat": panels}


def batch_chart(jobs: Any, title: str = "Batch") -> Any:
    """Three panels: jobs per status, the cost distribution and the duration distribution (an
    altair chart; :func:`batch_spec` is its Vega-Lite specification)."""
    return to_altair(batch_spec(jobs, title))
