"""Token-budget modes with the offline model: hard never exceeds, soft lowers fidelity and warns
but never stops, max_quality only reports."""

from __future__ import annotations

import pytest

import timepoint as tp
from timepoint.engine.runner import RunFailed
from timepoint.engine.session import remaining_budget
from timepoint.errors import BudgetExceeded
from timepoint.fidelity.token_budget import TokenBudget
from timepoint.llm.base import Message, Request
from timepoint.scenario.schema import BudgetMode
from timepoint.settings import Settings
from timepoint.time.intervention import Intervention
from timepoint.world import ResolutionLevel

from .conftest import JEFFERSON


def _budget(mode: str, limit: int) -> dict[str, object]:
    return {"fidelity.token_budget": limit, "fidelity.budget_mode": mode}


def _tokens(record) -> int:
    return record.usage.prompt_tokens + record.usage.completion_tokens


def _dialog_cells(record) -> int:
    return sum(c.resolution >= ResolutionLevel.DIALOG for c in record.fidelity)


@pytest.fixture(scope="module")
def unbudgeted(tmp_path_factory):
    """The Jefferson dinner without a token budget: what the run spends left alone."""
    home = tmp_path_factory.mktemp("budget") / "runs"
    overrides = {"fidelity.token_budget": None}
    return tp.run(JEFFERSON, settings=Settings(home=home), overrides=overrides).record


def test_max_quality_only_reports(settings, unbudgeted):
    record = tp.run(JEFFERSON, settings=settings, overrides=_budget("max_quality", 1000)).record
    assert record.status == "completed"
    report = record.evidence.token_budget
    assert report.over_budget and report.spent == _tokens(record) > 1000
    assert report.downgrades == [] and report.refused == []
    assert "reported only" in report.warnings[0]
    levels = {(c.entity_id, c.timepoint_id): c.resolution for c in record.fidelity}
    assert levels == {(c.entity_id, c.timepoint_id): c.resolution for c in unbudgeted.fidelity}
    verdict = next(v for v in record.validation if v.validator == "token_budget")
    assert not verdict.ok and "passed" in verdict.message


def test_hard_budget_lowers_fidelity_then_stops_with_a_partial_record(settings, unbudgeted):
    limit = int(_tokens(unbudgeted) * 0.6)
    with pytest.raises(RunFailed) as info:
        tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", limit))
    record = info.value.run.record
    assert record.status == "failed" and record.failed_step
    assert "fidelity.token_budget (hard) budget exceeded" in record.error
    assert f"limit {limit} tokens" in record.error
    assert record.timepoints, "what was produced before the stop is kept"
    report = record.evidence.token_budget
    assert report.downgrades, "fidelity was lowered before the run stopped"
    assert report.refused and report.spent <= limit
    assert _tokens(record) <= limit
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M1"]["budget downgrades"] >= 1
    assert tp.load_run(record.run_id, settings=settings).record.status == "failed"


def test_hard_budget_met_by_lowering_fidelity(settings, unbudgeted):
    limit = int(_tokens(unbudgeted) * 0.9)
    record = tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", limit)).record
    assert record.status == "completed"
    assert _tokens(record) <= limit < _tokens(unbudgeted)
    assert record.evidence.token_budget.downgrades
    assert _dialog_cells(record) < _dialog_cells(unbudgeted)


@pytest.mark.parametrize("share", [0.2, 0.45, 0.7, 0.85, 0.97])
def test_hard_budget_is_never_exceeded(settings, unbudgeted, share):
    limit = int(_tokens(unbudgeted) * share)
    try:
        record = tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", limit)).record
    except RunFailed as failure:
        record = failure.run.record
    assert _tokens(record) <= limit


def test_soft_budget_is_guidance_it_never_refuses_a_call():
    budget = TokenBudget(10_000, BudgetMode.SOFT, spent=9_900)
    ask = Request(messages=(Message(role="user", content="x" * 200),), max_tokens=5_000)
    for _ in range(3):
        budget.settle(budget.admit(ask), 2_000)
    report = budget.report()
    assert report.cap is None and report.refused == [] and report.overspent is None
    assert report.over_budget and report.spent == 15_900
    assert "soft mode: fidelity lowered, the run goes on" in report.warnings[0]
    assert budget.downgrade_levels(3, 5, 0) >= 1, "past its budget it lowers fidelity"


def test_soft_budget_on_a_small_budget_degrades_warns_and_completes(settings, unbudgeted):
    limit = _tokens(unbudgeted) // 3
    record = tp.run(JEFFERSON, settings=settings, overrides=_budget("soft", limit)).record
    assert record.status == "completed" and record.error is None
    assert len(record.timepoints) == len(unbudgeted.timepoints)
    report = record.evidence.token_budget
    assert report.mode == "soft" and report.refused == []
    assert report.downgrades, "fidelity was lowered as the budget ran out"
    assert any("soft budget: guidance" in w for w in report.warnings)
    assert _dialog_cells(record) < _dialog_cells(unbudgeted)
    verdict = next(v for v in record.validation if v.validator == "token_budget")
    assert verdict.message == "; ".join(report.warnings)
    assert verdict.ok is not report.over_budget


def test_a_question_spends_under_the_runs_token_budget(settings, unbudgeted):
    spent = _tokens(unbudgeted)
    roomy = tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", spent * 3))
    answer = roomy.ask("What did attendee_47 see at the second timepoint?")
    assert answer.tokens > 0
    assert roomy.record.evidence.token_budget.limit == spent * 3
    tight = tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", int(spent * 0.75)))
    assert tight.record.status == "completed"
    with pytest.raises(BudgetExceeded, match=r"fidelity\.token_budget"):
        tight.ask("What did attendee_47 see at the second timepoint?")
    assert len(tight.record.answers) == 0, "a refused question stores nothing"


def test_a_question_spends_under_the_runs_usd_budget(settings):
    run = tp.run(JEFFERSON, settings=settings, overrides={"budget.max_tokens": 1_000_000})
    spent = _tokens(run.record)
    assert remaining_budget(run.scenario.budget, run.record.usage).max_tokens == 1_000_000 - spent
    capped = tp.run(JEFFERSON, settings=settings, overrides={"budget.max_tokens": 1_000_000})
    capped.scenario = capped.scenario.with_overrides({"budget.max_tokens": spent + 50})
    with pytest.raises(BudgetExceeded):
        capped.ask("What did attendee_47 see at the second timepoint?")


def test_a_branch_spends_under_the_runs_token_budget(settings, unbudgeted):
    limit = _tokens(unbudgeted)
    run = tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", limit))
    branch = run.branch(at="tp_001", intervention=Intervention.remove("hamilton")).record
    report = branch.evidence.token_budget
    assert report.limit == limit and report.mode == "hard"
    assert 0 < report.spent == _tokens(branch) <= limit
