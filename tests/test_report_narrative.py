"""Narrative exports: Markdown, JSON and PDF at three detail levels, and the executive summary."""

from __future__ import annotations

import json
import random

import pytest

import timepoint as tp
from timepoint.errors import BudgetExceeded, ReportError
from timepoint.report.narrative import (
    DETAIL_LEVELS,
    narrative_data,
    narrative_json,
    narrative_markdown,
)
from timepoint.report.pdf import narrative_pdf, pdf_view, run_pdf
from timepoint.report.summary import (
    ExecutiveSummary,
    compose_summary,
    summarize,
    summary_context,
)
from timepoint.settings import Settings
from timepoint.world import ExposureKind

from .conftest import JEFFERSON, SCENARIOS


@pytest.fixture(scope="module")
def jefferson(tmp_path_factory):
    return tp.run(JEFFERSON, settings=Settings(home=tmp_path_factory.mktemp("runs")))


def test_run_folder_holds_markdown_json_and_the_pdf_the_scenario_asks_for(jefferson):
    assert "pdf" in jefferson.scenario.outputs.formats
    folder = jefferson.folder
    data = json.loads((folder / "narrative.json").read_text())
    assert data["run_id"] == jefferson.run_id
    assert data["detail"] == jefferson.scenario.outputs.detail
    assert (folder / "narrative.md").read_text().startswith(f"# {jefferson.record.title}")
    assert (folder / "narrative.pdf").read_bytes()[:5] == b"%PDF-"
    assert jefferson.record.narrative_pdf_error is None


def test_the_run_folder_pdf_is_the_run_pdf_with_its_charts(jefferson):
    detail = jefferson.scenario.outputs.detail
    written = (jefferson.folder / "narrative.pdf").read_bytes()
    assert written == run_pdf(jefferson.record, detail), "one function, one document"
    assert len(written) > len(narrative_pdf(jefferson.record, detail, charts=False)) + 20_000


def test_detail_levels_add_sections(jefferson):
    record = jefferson.record
    minimal, summary, full = (narrative_data(record, level) for level in DETAIL_LEVELS)
    for key in ("run_id", "mode", "date", "duration_s", "cost_usd", "provider", "summary"):
        assert key in minimal
    assert [t["id"] for t in minimal["timeline"]] == record.main_timeline.timepoint_ids
    assert "characters" not in minimal and "dialogs" not in minimal
    for key in ("characters", "dialogs", "provenance", "mechanisms", "validation"):
        assert key in summary
    assert "cost_by_model" not in summary and "cost_by_model" in full
    assert len(full["characters"]) == len(record.entities)
    assert len(full["provenance"]) >= len(summary["provenance"])
    assert {m["mechanism"] for m in summary["mechanisms"]} == {
        m.mechanism for m in record.mechanisms
    }
    failed = [v for v in record.validation if not v.ok]
    assert full["validation"]["violations"] == len(failed)
    assert sum(r["results"] for r in full["validation"]["by_validator"].values()) == len(
        record.validation
    )
    m4 = next(m.counts for m in record.mechanisms if m.mechanism == "M4")
    assert full["validation"]["checks"] == m4["checks"] == summary["validation"]["checks"]
    assert full["validation"]["result_count"] == len(record.validation)


def test_markdown_names_the_people_events_and_mechanisms(jefferson):
    record = jefferson.record
    text = narrative_markdown(record, "comprehensive")
    for heading in (
        "## Executive summary",
        "## Timeline",
        "## Characters",
        "## Mechanisms",
        "## Validation",
        "## Knowledge provenance",
        "## Cost by action",
        "## Cost by model",
    ):
        assert heading in text
    for entity in record.entities:
        assert entity.name in text
    for tp_ in record.timepoints:
        assert f"**{tp_.id}**" in text
    assert record.summary in text
    minimal = narrative_markdown(record, "minimal")
    assert "## Characters" not in minimal and "## Timeline" in minimal
    assert not narrative_markdown(record, "summary", heading=False).startswith("# ")


def test_provenance_highlight_follows_a_told_fact_from_its_origin(jefferson):
    record = jefferson.record
    top = narrative_data(record, "summary")["provenance"][0]
    told = [
        e for e in record.exposures if e.fact_id == top["fact_id"] and e.kind is ExposureKind.TOLD
    ]
    assert len(top["spread"]) == len(told) > 0
    holders = {e.entity_id for e in record.exposures if e.fact_id == top["fact_id"]}
    assert top["holders"] == len(holders)
    names = {e.name for e in record.entities}
    assert {s["from"] for s in top["spread"]} <= names


def test_json_is_the_narrative_data(jefferson):
    assert json.loads(narrative_json(jefferson.record, "summary")) == json.loads(
        json.dumps(narrative_data(jefferson.record, "summary"))
    )


def test_unknown_detail_level_names_the_allowed_ones(jefferson):
    with pytest.raises(ReportError, match="minimal, summary, comprehensive"):
        narrative_data(jefferson.record, "everything")


def test_executive_summary_is_a_model_call_composed_from_the_record(jefferson):
    record = jefferson.record
    assert record.summary_source.startswith("model ")
    assert record.usage.by_action["summarization"].calls == 1
    first, last = record.timepoints[0], record.timepoints[-1]
    assert first.event.rstrip(".") in record.summary
    assert last.timestamp.strftime("%Y-%m-%d %H:%M") in record.summary
    primaries = [e.name for e in record.entities if e.role.value == "primary"]
    assert all(name in record.summary for name in primaries)
    context = summary_context(record)
    assert ExecutiveSummary.offline_answer(context, __import__("random").Random(0))["summary"]


class RefusingGateway:
    """A gateway whose budget is spent: every call is refused."""

    def complete(self, request):
        raise BudgetExceeded("run", spent=0.1, reserved=0.002, limit=0.1)


def test_summary_falls_back_to_the_template_and_says_why(jefferson):
    record = jefferson.record.model_copy(update={"summary": ""})
    summarized = summarize(record, RefusingGateway())
    assert summarized.summary_source.startswith("template (BudgetExceeded")
    assert summarized.summary and record.timepoints[0].event.rstrip(".") in summarized.summary


def test_pdf_has_every_section_and_embeds_charts(jefferson):
    record = jefferson.record
    with_charts = narrative_pdf(record, "summary")
    without = narrative_pdf(record, "summary", charts=False)
    assert with_charts[:5] == b"%PDF-" and without[:5] == b"%PDF-"
    assert len(with_charts) > len(without) + 20_000
    view = pdf_view(narrative_data(record, "summary"), [])
    assert view["header"].startswith(f"Run {record.run_id} · mode pearl")
    first = record.timepoints[0].timestamp.strftime("%Y-%m-%d %H:%M")
    assert view["timeline"][0]["when"] == first
    assert [row[0] for row in view["validation"]["by_validator_rows"]] == sorted(
        {v.validator for v in record.validation}, key=[v.validator for v in record.validation].index
    )


def test_failed_run_narrative_says_where_it_stopped(tmp_path):
    settings = Settings(home=tmp_path / "runs")
    with pytest.raises(tp.RunFailed) as info:
        tp.run(
            SCENARIOS / "showcase" / "jefferson_dinner.yaml",
            settings=settings,
            overrides={"budget.max_tokens": 1500},
        )
    failed = info.value.run
    text = (failed.folder / "narrative.md").read_text()
    assert f"**Failed at step {failed.record.failed_step}:**" in text
    assert "The run failed before it finished" in narrative_data(failed.record)["summary"]


def test_summary_counts_read_as_english():
    one = compose_summary(
        {"validation": {"result_count": 3, "checks": 1, "violations": 1, "repaired": 0}},
        random.Random(0),
    )
    assert "Validators found 1 violation (0 repaired) in 1 check." in one
    many = compose_summary(
        {"validation": {"result_count": 4, "checks": 9, "violations": 0}}, random.Random(0)
    )
    assert "Validators found no violations in 9 checks." in many
