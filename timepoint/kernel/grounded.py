"""Recording in the run what grounding (:mod:`timepoint.llm.grounding`) dropped."""

from __future__ import annotations

from timepoint.kernel.state import WorldState
from timepoint.llm.grounding import Settled
from timepoint.world.record import ValidationResult


def record_dropped(
    state: WorldState,
    mechanism: str,
    target: str,
    settled: Settled,
    *,
    timepoint_id: str | None = None,
) -> None:
    """Put a settled answer's drops in the run record: a failed validation each, and counts.

    The ledger of ``mechanism`` counts ``names mapped to ids``, ``re-asks for ids`` and
    ``ids dropped`` (zero counts leave no trace).
    """
    state.ledger.count(mechanism, "names mapped to ids", settled.mapped)
    state.ledger.count(mechanism, "re-asks for ids", settled.reasked)
    state.ledger.count(mechanism, "ids dropped", len(settled.dropped))
    for issue in settled.dropped:
        state.validation.append(
            ValidationResult(
                validator="grounded_ids",
                target=f"{target}#{issue.path}",
                ok=False,
                message=issue.describe(),
                timepoint_id=timepoint_id,
            )
        )
