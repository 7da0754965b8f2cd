"""The run record a simulation's state becomes, with the token budget's verdict.

:func:`build_record` copies the world state into a :class:`~timepoint.world.record.RunRecord`
(the record must not change as the state does); the token budget, when the run has one, adds
its report to the evidence and a ``token_budget`` validation result.
:func:`refresh_budget_report` brings both up to date after calls made once the record was built.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from timepoint.fidelity.token_budget import TokenBudget
from timepoint.kernel.state import WorldState
from timepoint.scenario.schema import Scenario
from timepoint.world.evidence import MechanismEvidence
from timepoint.world.record import PathInfo, RunRecord, ValidationResult

__all__ = ["budget_validation", "build_record", "refresh_budget_report"]


def build_record(
    state: WorldState,
    scenario: Scenario,
    *,
    run_id: str,
    started: datetime,
    status: str,
    provider: str,
    seed: int,
    token_budget: TokenBudget | None,
    paths: list[PathInfo],
    extras: dict[str, Any],
) -> RunRecord:
    """The record of a run that started at ``started`` and ends now with ``status``."""
    finished = datetime.now(UTC)
    return RunRecord(
        run_id=run_id,
        status=status,
        scenario_id=scenario.id,
        title=scenario.title,
        description=scenario.description,
        mode=scenario.temporal.mode.value,
        seed=seed,
        config_hash=scenario.config_hash,
        provider=provider,
        started=started,
        finished=finished,
        duration_s=round((finished - started).total_seconds(), 4),
        entities=list(state.entities.values()),
        timelines=list(state.timelines.values()),
        timepoints=list(state.timepoints.values()),
        exposures=state.exposures.events,
        dialogs=list(state.dialogs),
        relationships=list(state.relationships),
        scenes=list(state.scenes),
        prospection=list(state.prospection),
        fidelity=list(state.fidelity.values()),
        mechanisms=state.ledger.entries(),
        validation=list(state.validation) + budget_validation(token_budget),
        paths=list(paths),
        evidence=_record_evidence(state, token_budget),
        extras=dict(extras),
    )


def refresh_budget_report(record: RunRecord, token_budget: TokenBudget | None) -> RunRecord:
    """``record`` with the token budget's report and verdict brought up to date (after
    calls made once the record was built, such as the executive summary)."""
    if token_budget is None:
        return record
    kept = [v for v in record.validation if v.validator != "token_budget"]
    evidence = record.evidence.model_copy(update={"token_budget": token_budget.report()})
    return record.model_copy(
        update={"validation": kept + budget_validation(token_budget), "evidence": evidence}
    )


def budget_validation(budget: TokenBudget | None) -> list[ValidationResult]:
    """The token budget's verdict (soft overruns carry their warning); none without one."""
    if budget is None:
        return []
    report = budget.report()
    message = "; ".join(report.warnings) or (
        f"{report.spent} of {report.limit} tokens ({report.mode})"
    )
    return [
        ValidationResult(
            validator="token_budget",
            target="run",
            ok=not report.over_budget and not report.refused,
            message=message,
        )
    ]


def _record_evidence(state: WorldState, token_budget: TokenBudget | None) -> MechanismEvidence:
    """A copy of the state's evidence (the record must not change as the state does)."""
    evidence = state.evidence.model_copy(deep=True)
    if token_budget is not None:
        evidence.token_budget = token_budget.report()
    return evidence
