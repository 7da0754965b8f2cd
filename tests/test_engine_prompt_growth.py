"""Prompts do not grow with the run: the story so far is the latest events plus a rolling
summary made once per stretch (M7), and entities' facts are picked, not all listed."""

from __future__ import annotations

from collections import defaultdict

import pytest

import timepoint as tp
from timepoint.llm.offline import OfflineModel
from timepoint.llm.task_data import read_task_data
from timepoint.llm.testing import RecordingModel
from timepoint.settings import Settings
from timepoint.world.phrasing import point_of

from .conftest import SCENARIOS

BOARD = SCENARIOS / "showcase" / "board_meeting.yaml"
SHORT, LONG = 12, 30


def largest(model: RecordingModel) -> dict[str, int]:
    """The largest prompt (in the model's counted tokens) of each action."""
    sizes: dict[str, int] = defaultdict(int)
    for request, completion in model.exchanges:
        name = request.action.value
        if request.output_schema is not None and name == "summarization":
            name += f" ({request.output_schema.__name__})"
        sizes[name] = max(sizes[name], completion.usage.prompt_tokens)
    return dict(sizes)


def _run(tmp_path_factory, count: int, **overrides) -> tuple[tp.Run, RecordingModel]:
    model = RecordingModel(OfflineModel(seed=0))
    home = tmp_path_factory.mktemp(f"growth{count}") / "runs"
    run = tp.run(
        BOARD,
        model=model,
        settings=Settings(home=home),
        overrides={"timepoints.count": count, **overrides},
    )
    return run, model


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """board_meeting at 12 and 30 timepoints, fidelity never lowered by the budget."""
    keep = {"fidelity.budget_mode": "max_quality"}
    return {n: _run(tmp_path_factory, n, **keep) for n in (SHORT, LONG)}


def test_the_largest_prompt_of_each_action_does_not_grow_with_the_run(runs):
    short, long = largest(runs[SHORT][1]), largest(runs[LONG][1])
    assert set(short) <= set(long)
    grown = {a: round(long[a] / short[a], 2) for a in short if long[a] > 1.5 * short[a]}
    assert not grown, f"prompts grew with the run: {grown}"


def test_older_history_is_summarized_once_per_stretch_and_recorded(runs):
    run, model = runs[LONG]
    record = run.record
    summaries = record.evidence.history_summaries
    # recent 3 verbatim, summarized every 5: the last event (after tp_028) sees 25 summarized
    assert [s.covers for s in summaries] == [5, 10, 15, 20, 25]
    assert [s.timepoint_id for s in summaries] == [f"tp_{n - 1:03d}" for n in (5, 10, 15, 20, 25)]
    assert all(s.text and s.tokens > 0 for s in summaries)
    made = [
        r
        for r in model.requests("summarization")
        if r.output_schema is not None and r.output_schema.__name__ == "HistorySummary"
    ]
    assert len(made) == len(summaries), "each summary is asked for once and reused"
    assert record.usage.by_action["summarization"].calls == len(summaries) + 1  # + executive
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M7"]["history summaries"] == len(summaries)
    # each summary is written from the one before it and the events since, not the whole chain
    for request, earlier in zip(made[1:], summaries, strict=False):
        data = read_task_data(request.messages).data
        assert data["earlier"] == earlier.text and len(data["events"]) == 5


def test_the_event_prompt_carries_the_summary_and_only_the_latest_events(runs):
    run, model = runs[LONG]
    last = model.requests("temporal_reasoning")[-1]
    data = read_task_data(last.messages).data
    latest = run.record.evidence.history_summaries[-1]
    assert data["earlier"] == {
        "covers": 25,
        "through": "tp_024",
        "summary": latest.text,
    }
    chain = [t.event for t in run.record.timepoints[25 : LONG - 1]]
    assert data["previous"] == chain
    prose = last.messages[-1].content
    assert "Story so far (moments 1-25, summarized): " + latest.text.replace("\n", " ") in prose
    assert "Latest events: " + " | ".join(chain) in prose


def test_a_short_run_quotes_its_whole_story(runs):
    run, model = runs[SHORT]
    first = model.requests("temporal_reasoning")[6]  # after tp_005: 6 events, none summarized
    data = read_task_data(first.messages).data
    assert "earlier" not in data
    assert data["previous"] == [t.event for t in run.record.timepoints[:6]]


def test_fact_texts_do_not_nest_retellings(runs):
    run, _ = runs[LONG]
    longest = max(len(f) for t in run.record.timepoints for f in t.key_facts)
    assert longest < 300
    told = "Ann Lee pressed Bo Chen on the point that Bo Chen insisted that Revenue is up"
    assert point_of(told) == "Revenue is up"


def test_the_default_soft_budget_finishes_thirty_timepoints(tmp_path_factory):
    run, _ = _run(tmp_path_factory, LONG)
    record = run.record
    report = record.evidence.token_budget
    assert report is not None and report.cap is None
    assert record.status == "completed" and len(record.timepoints) == LONG
    assert report.mode == "soft" and report.refused == []
    assert report.downgrades, "the budget looked ahead and lowered fidelity to finish"
