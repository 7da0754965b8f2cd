"""The narrative as PDF: the same data as the Markdown, typeset offline with Typst.

The ``typst`` Python package compiles ``narrative.typ`` (shipped beside this module) with the
narrative data as JSON and the charts as SVG files; no network, no LaTeX, no browser. Fonts
are Typst's embedded ones, so the output does not depend on the machine's fonts.
"""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from timepoint.errors import ReportError
from timepoint.report import charts
from timepoint.report.narrative import narrative_data
from timepoint.report.records import validation_line
from timepoint.world.record import RunRecord

#: charts per detail level: (file stem, spec function name, caption)
CHARTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "minimal": (("timeline", "timeline_spec", "Timelines, causal links and pivot points."),),
    "summary": (
        ("timeline", "timeline_spec", "Timelines, causal links and pivot points."),
        ("knowledge", "knowledge_flow_spec", "Knowledge flow: who told whom, when."),
        ("fidelity", "fidelity_spec", "Fidelity surface: resolution and tokens per cell."),
        ("cost", "cost_spec", "Spending by action and by model."),
    ),
}
CHARTS["comprehensive"] = (
    *CHARTS["summary"],
    ("relationships", "relationship_spec", "Relationships over time."),
)


def _hops(spread: list[dict[str, Any]]) -> str:
    return "; ".join(f"{s['from']} → {s['to']} at {s['timepoint']}" for s in spread)


def _cost_rows(rows: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [
        [
            name,
            str(u["calls"]),
            f"{u['prompt_tokens']:,}",
            f"{u['completion_tokens']:,}",
            f"{u['cost_usd']:.4f}",
        ]
        for name, u in rows.items()
    ]


def pdf_view(data: dict[str, Any], charts: list[dict[str, str]]) -> dict[str, Any]:
    """:func:`narrative_data` output plus the preformatted strings the Typst template prints."""
    view = dict(data)
    view["header"] = (
        f"Run {data['run_id']} · mode {data['mode']} · provider {data['provider']} · "
        f"status {data['status']} · {data['date']} · {data['duration_s']:.2f} s · "
        f"{data['tokens']:,} tokens in {data['calls']} calls · ${data['cost_usd']:.4f}"
    )
    view["timeline"] = [
        {**t, "when": t["timestamp"][:16].replace("T", " ")} for t in data["timeline"]
    ]
    view["charts"] = charts
    if "provenance" in data:
        view["provenance"] = [
            {
                **h,
                "line": f"{h['origin']}; {_hops(h['spread'])}. "
                f"Held by {h['holders']} of {h['of']} entities at the end.",
            }
            for h in data["provenance"]
        ]
    if "paths" in data:
        view["paths"] = [{**p, "score_text": f"{p['score']:.3f}"} for p in data["paths"]]
    if "validation" in data:
        v = data["validation"]
        view["validation"] = {
            **v,
            "line": validation_line(v),
            "by_validator_rows": [
                [name, str(r["results"]), str(r["violations"]), str(r["repaired"])]
                for name, r in v["by_validator"].items()
            ],
        }
    tables = []
    if "cost_by_action" in data:
        tables.append({"title": "Cost by action", "rows": _cost_rows(data["cost_by_action"])})
    if "cost_by_model" in data:
        tables.append({"title": "Cost by model", "rows": _cost_rows(data["cost_by_model"])})
    view["cost_tables"] = tables
    return view


def _chart_files(record: RunRecord, detail: str, folder: Path) -> list[dict[str, str]]:

    files = []
    for stem, function, caption in CHARTS[detail]:
        spec = getattr(charts, function)(record)
        (folder / f"{stem}.svg").write_text(charts.chart_svg(spec))
        files.append({"file": f"{stem}.svg", "caption": caption})
    return files


def run_pdf(record: RunRecord, detail: str = "summary") -> bytes:
    """The PDF of a run: its narrative at ``detail`` with the charts of that detail level.

    This one function makes both ``narrative.pdf`` files: the one written into the run folder
    when the scenario asks for ``pdf`` and the one the report site publishes, so the two are
    the same document for the same record (the site makes it again only when the stored record
    changed after the run, by questions asked or branches added).

    Raises:
        ReportError: typst or vl-convert is not installed, or the document did not compile.
    """
    return narrative_pdf(record, detail, charts=True)


def narrative_pdf(record: RunRecord, detail: str = "summary", *, charts: bool = True) -> bytes:
    """The narrative as PDF bytes, charts included as SVG (``charts=False`` leaves them out).

    Raises:
        ReportError: typst (or, with charts, vl-convert) is not installed, or the
            document did not compile.
    """
    data = narrative_data(record, detail)
    try:
        import typst
    except ImportError as error:
        raise ReportError(
            f"PDF export needs the typst package ({error}); install the analysis extra: "
            "pip install 'timepoint[analysis]', or drop 'pdf' from outputs.formats"
        ) from None
    template = resources.files("timepoint.report").joinpath("narrative.typ").read_text()
    with tempfile.TemporaryDirectory(prefix="timepoint-pdf-") as tmp:
        folder = Path(tmp)
        figures = _chart_files(record, detail, folder) if charts else []
        view = pdf_view(data, figures)
        (folder / "narrative.json").write_text(json.dumps(view, ensure_ascii=False))
        (folder / "main.typ").write_text(template)
        try:
            pdf = typst.compile(
                str(folder / "main.typ"),
                root=str(folder),
                ignore_system_fonts=True,
                timestamp=int(record.started.timestamp()),
            )
        except typst.TypstError as error:
            raise ReportError(
                f"the narrative PDF of run {record.run_id} did not compile: {error.message} "
                f"({error.diagnostic}); the Markdown and JSON narratives are unaffected"
            ) from None
    if not isinstance(pdf, bytes):  # pragma: no cover - typst returns pages only for images
        raise ReportError("typst returned no PDF document")
    return pdf
