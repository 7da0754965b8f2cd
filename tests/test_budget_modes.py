"""Token-budget modes with the offline model: hard never exceeds, soft allows 10%, max_quality
only reports."""

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
    report = record.extras["token_budget"]
    assert report["over_budget"] and report["spent"] == _tokens(record) > 1000
    assert report["downgrades"] == [] and report["refused"] == []
    assert "reported only" in report["warnings"][0]
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
    report = record.extras["token_budget"]
    assert report["downgrades"], "fidelity was lowered before the run stopped"
    assert report["refused"] and report["spent"] <= limit
    assert _tokens(record) <= limit
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M1"]["budget downgrades"] >= 1
    assert tp.load_run(record.run_id, settings=settings).record.status == "failed"


def test_hard_budget_met_by_lowering_fidelity(settings, unbudgeted):
    limit = int(_tokens(unbudgeted) * 0.9)
    record = tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", limit)).record
    assert record.status == "completed"
    assert _tokens(record) <= limit < _tokens(unbudgeted)
    assert record.extras["token_budget"]["downgrades"]
    assert _dialog_cells(record) < _dialog_cells(unbudgeted)


@pytest.mark.parametrize("share", [0.2, 0.45, 0.7, 0.85, 0.97])
def test_hard_budget_is_never_exceeded(settings, unbudgeted, share):
    limit = int(_tokens(unbudgeted) * share)
    try:
        record = tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", limit)).record
    except RunFailed as failure:
        record = failure.run.record
    assert _tokens(record) <= limit


def test_soft_budget_allows_ten_percent_over_with_a_warning(settings, unbudgeted):
    # every attempt reserves its worst case, so a soft run passes its limit only where the
    # last calls' worst cases still fit the 110% allowance: a limit just under the spend of
    # all calls but the last is passed by the last one
    budget = TokenBudget(10_000, BudgetMode.SOFT, spent=9_900)
    ask = Request(messages=(Message(role="user", content="x" * 200),), max_tokens=500)
    held = budget.admit(ask)
    assert held <= 1_100
    budget.settle(held, 600)
    report = budget.report()
    assert report["over_budget"] and report["spent"] == 10_500 <= report["cap"] == 11_000
    assert "soft mode" in report["warnings"][0]
    with pytest.raises(BudgetExceeded, match=r"fidelity\.token_budget \(soft\)"):
        budget.admit(ask)
    limit = int(_tokens(unbudgeted) / 1.03)
    record = tp.run(JEFFERSON, settings=settings, overrides=_budget("soft", limit)).record
    assert record.status == "completed"
    assert _tokens(record) <= 1.1 * limit
    report = record.extras["token_budget"]
    assert report["cap"] == int(limit * 1.1)
    if report["over_budget"]:
        verdict = next(v for v in record.validation if v.validator == "token_budget")
        assert not verdict.ok and verdict.message == report["warnings"][0]


def test_soft_budget_stops_past_its_allowance(settings, unbudgeted):
    limit = _tokens(unbudgeted) // 3
    with pytest.raises(RunFailed) as info:
        tp.run(JEFFERSON, settings=settings, overrides=_budget("soft", limit))
    record = info.value.run.record
    assert "fidelity.token_budget (soft)" in record.error
    assert _tokens(record) <= 1.1 * limit


def test_a_question_spends_under_the_runs_token_budget(settings, unbudgeted):
    spent = _tokens(unbudgeted)
    roomy = tp.run(JEFFERSON, settings=settings, overrides=_budget("hard", spent * 3))
    answer = roomy.ask("What did attendee_47 see at the second timepoint?")
    assert answer.tokens > 0
    assert roomy.record.extras["token_budget"]["limit"] == spent * 3
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
    report = branch.extras["token_budget"]
    assert report["limit"] == limit and report["mode"] == "hard"
    assert 0 < report["spent"] == _tokens(branch) <= limit
