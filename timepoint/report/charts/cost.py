"""Cost charts: spending by action and by model, and per run.

Offline runs cost nothing, so the measure falls back to tokens when every cost is zero; the
chart title says which measure it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from timepoint.report.charts.base import Spec, enc, note, to_altair, unit, values
from timepoint.report.records import as_record


def _runs(runs: Any) -> list[Any]:
    return list(runs) if isinstance(runs, Sequence) and not isinstance(runs, str | dict) else [runs]


def cost_data(runs: Any) -> list[Spec]:
    """One row per run, grouping (``action`` or ``model``) and name, with ``calls``,
    ``prompt_tokens``, ``completion_tokens``, ``tokens`` and ``cost_usd``. ``runs`` is one run
    or a sequence of runs."""
    rows = []
    for item in _runs(runs):
        record = as_record(item)
        for group, buckets in (
            ("action", record.usage.by_action),
            ("model", record.usage.by_model),
        ):
            for name, usage in sorted(buckets.items()):
                rows.append(
                    {
                        "run_id": record.run_id,
                        "group": group,
                        "name": name,
                        "calls": usage.calls,
                        "prompt_tokens": usage.prompt_tokens,
                        "completion_tokens": usage.completion_tokens,
                        "tokens": usage.prompt_tokens + usage.completion_tokens,
                        "cost_usd": usage.cost_usd,
                    }
                )
    return rows


def cost_measure(rows: list[Spec]) -> str:
    """``cost_usd`` when anything cost money, else ``tokens``."""
    return "cost_usd" if sum(r["cost_usd"] for r in rows) > 0 else "tokens"


def _label(measure: str) -> str:
    return "USD" if measure == "cost_usd" else "tokens"


def _free(measure: str) -> str:
    """A title's note when the chart shows tokens because every call was free."""
    return "" if measure == "cost_usd" else " (every call was free)"


def cost_spec(runs: Any) -> Spec:
    """Cost by action and by model as a Vega-Lite specification."""
    rows = cost_data(runs)
    if not rows:
        return note("Cost", "no model calls were recorded")
    measure = cost_measure(rows)
    panels = []
    for group in ("action", "model"):
        part = [r for r in rows if r["group"] == group]
        panels.append(
            unit(
                "bar",
                {
                    "x": {
                        "aggregate": "sum",
                        **enc(measure, "quantitative", title=_label(measure)),
                    },
                    "y": enc("name", "nominal", sort="-x", title=None),
                    "color": enc("name", "nominal", legend=None),
                    "tooltip": [
                        enc("name", "nominal"),
                        {"aggregate": "sum", **enc("calls", "quantitative", title="calls")},
                        {"aggregate": "sum", **enc("tokens", "quantitative", title="tokens")},
                        {"aggregate": "sum", **enc("cost_usd", "quantitative", title="USD")}
                        | {"format": ".4f"},
                    ],
                },
                data=values(part),
                title=f"by {group}",
                width=280,
                height=max(60, 24 * len({r["name"] for r in part})),
            )
        )
    count = len({r["run_id"] for r in rows})
    scope = "one run" if count == 1 else f"{count} runs"
    title = f"Cost by action and model ({scope}, {_label(measure)}){_free(measure)}"
    return {"title": title, "hconcat": panels}


def cost_chart(runs: Any) -> Any:
    """Bars of cost (or tokens) by action and by model, summed over ``runs`` (an altair chart;
    :func:`cost_spec` is its Vega-Lite specification)."""
    return to_altair(cost_spec(runs))


def run_costs_data(runs: Sequence[Any]) -> list[Spec]:
    """One row per run, oldest first: ``run_id``, ``scenario``, ``mode``, ``status``,
    ``started`` (ISO), ``calls``, ``tokens`` and ``cost_usd``."""
    records = sorted((as_record(r) for r in _runs(runs)), key=lambda r: r.started)
    return [
        {
            "run_id": r.run_id,
            "scenario": r.scenario_id,
            "mode": r.mode,
            "status": r.status,
            "started": r.started.isoformat(),
            "calls": r.usage.calls,
            "tokens": r.usage.prompt_tokens + r.usage.completion_tokens,
            "cost_usd": r.usage.cost_usd,
        }
        for r in records
    ]


def run_costs_spec(runs: Sequence[Any]) -> Spec:
    """Cost per run as a Vega-Lite specification."""
    rows = run_costs_data(runs)
    if not rows:
        return note("Cost per run", "no runs")
    measure = cost_measure(rows)
    labelled = [{**r, "run": f"{i}. {r['run_id']}"} for i, r in enumerate(rows, 1)]
    return unit(
        "bar",
        {
            "y": enc(
                "run",
                "nominal",
                sort=[r["run"] for r in labelled],
                title="run (oldest first)",
                axis={"labelLimit": 260},
            ),
            "x": enc(measure, "quantitative", title=_label(measure)),
            "color": enc("scenario", "nominal", legend={"title": "scenario", "orient": "top"}),
            "tooltip": [
                *(enc(f, "nominal") for f in ("run_id", "scenario", "mode", "status")),
                enc("calls", "quantitative"),
                enc("tokens", "quantitative"),
                enc("cost_usd", "quantitative", title="USD", format=".4f"),
            ],
        },
        data=values(labelled),
        title=f"Cost per run in {_label(measure)}{_free(measure)}",
        width=560,
        height=max(60, 22 * len(labelled)),
    )


def run_costs_chart(runs: Sequence[Any]) -> Any:
    """Cost (or tokens, when nothing cost money) per run in start order, coloured by scenario
    (an altair chart; :func:`run_costs_spec` is its Vega-Lite specification)."""
    return to_altair(run_costs_spec(runs))
