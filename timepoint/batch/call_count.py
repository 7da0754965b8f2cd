"""Calls planned from a scenario's structure, counted without running it.

The fallback of a cost estimate when a configuration cannot be rehearsed offline (see
:mod:`timepoint.batch.estimate`): population calls from the roster, per-timepoint calls from the
enabled mechanisms, scaled by the temporal mode's complexity (:data:`MODE_MULTIPLIERS`).
"""

from __future__ import annotations

from timepoint.kernel.mechanism_settings import read_settings
from timepoint.llm.base import ActionType
from timepoint.scenario.schema import Scenario
from timepoint.synthesis.population import generated_entries, roster_with_generated
from timepoint.synthesis.prospection import ProspectionSettings
from timepoint.world import EntityKind, EntityRole

#: mode complexity multipliers applied to the per-timepoint calls
MODE_MULTIPLIERS = {
    "pearl": 1.0,
    "directorial": 1.2,
    "nonlinear": 1.3,
    "branching": 1.4,
    "cyclical": 1.3,
    "portal": 1.5,
}


def planned_calls(scenario: Scenario) -> dict[ActionType, float]:
    """Planned calls per action of one run of ``scenario``, from its structure (see
    :func:`call_range`)."""
    return {action: expected for action, (expected, _) in call_range(scenario).items()}


def call_range(scenario: Scenario) -> dict[ActionType, tuple[float, float]]:
    """(planned, most) calls per action of one run of ``scenario``, from its structure.

    The fallback of a configuration that cannot be rehearsed:

    - ``entity_population``: one call per roster entry the model has to complete (entries that
      lack a name, description, traits or knowledge and have no profile file; generated entries
      up to ``entities.count``), background entities excepted; plus one call that names every
      generated entry together, when there are any;
    - per timepoint (sub-moments of vertical expansion included): one ``temporal_reasoning``
      call, one ``dialog_synthesis`` call (M11), one ``prospection`` call per planning entity
      (M15) and one ``animistic_behavior`` call per non-human entity when ``entities.animism``
      > 0 (M16), scaled by the mode's complexity multiplier (:data:`MODE_MULTIPLIERS`);
    - one ``summarization`` call for the executive summary of the run.

    The count is exact for short forward (pearl) runs of the offline model. The planned and
    the most calls differ where the model decides: an entity the model populates may turn out
    to be a planner (M15 by trait), so it counts towards the most but not the planned calls.
    """

    roster = roster_with_generated(scenario)
    mechanisms = scenario.mechanisms
    populated = [
        entry
        for entry in roster
        if entry.role is not EntityRole.BACKGROUND
        and not entry.profile
        and not all(
            entry.model_dump(exclude_defaults=True).get(k)
            for k in ("name", "description", "traits", "knowledge")
        )
    ]
    calls: dict[ActionType, tuple[float, float]] = {}
    population = len(populated) + (1 if generated_entries(scenario) else 0)
    if population:
        calls[ActionType.ENTITY_POPULATION] = (population, population)
    tps = scenario.timepoints
    sub_moments = tps.before + tps.after
    expanded = len(tps.expand) if tps.expand else (1 if sub_moments else 0)
    timepoints = (tps.count + sub_moments * expanded) * MODE_MULTIPLIERS.get(
        scenario.temporal.mode.value, 1.0
    )
    per_timepoint = {ActionType.TEMPORAL_REASONING: (1, 1)}
    if mechanisms.enabled("m11"):
        per_timepoint[ActionType.DIALOG_SYNTHESIS] = (1, 1)
    if mechanisms.enabled("m15"):
        planners, possible = _planners(scenario, roster, {e.id for e in populated})
        if possible:
            per_timepoint[ActionType.PROSPECTION] = (planners, possible)
    if mechanisms.enabled("m16") and scenario.entities.animism > 0:
        animated = sum(r.kind is not EntityKind.HUMAN for r in roster)
        if animated:
            per_timepoint[ActionType.ANIMISTIC_BEHAVIOR] = (animated, animated)
    for action, (planned, most) in per_timepoint.items():
        calls[action] = (planned * timepoints, most * timepoints)
    calls[ActionType.SUMMARIZATION] = (1, 1)
    return calls


def _planners(scenario: Scenario, roster: list, populated: set[str]) -> tuple[int, int]:
    """(certain, possible) planners: flagged, listed or with the trait; plus, for the possible
    count, entities whose traits the model will write."""

    config = read_settings(scenario, "m15", ProspectionSettings)
    certain = possible = 0
    for entry in roster:
        threshold = config.trait_threshold
        trait = entry.traits.get(config.trait)
        sure = (
            entry.plans
            or entry.id in config.entities
            or entry.role.value in config.roles
            or (threshold is not None and trait is not None and trait >= threshold)
        )
        maybe = threshold is not None and trait is None and entry.id in populated
        certain += bool(sure)
        possible += bool(sure or maybe)
    return certain, possible
