"""Circadian patterns (M14): who is plausibly awake at a timepoint and what activity costs.

Activity probability by hour follows the reference table (``m14.activities``): sleep 0–5h .95,
meals 7/12/19h .8, work 9–16h .7, social 18–22h .6, travel 6–8h and 17–20h .5; an hour next to
an activity's window gets half its probability, any other hour .05.

Rules (all constants live in :class:`CircadianSettings`, tunable via ``mechanisms.settings.m14``):

- The table is read at the entity's *body hour*: the clock hour for day workers, the clock hour
  shifted by 12 for night workers (ids in ``night_workers``, roles in ``night_roles``, or a
  positive ``night_shift`` trait). An ER nurse at 02:00 is at the body hour 14: work.
- A human or animal is asleep when the sleep probability at its body hour reaches
  ``sleep_threshold``, unless pain or fever at ``wake_on_discomfort`` or above keeps it awake or
  the scenario lists it in ``awake`` (someone deliberately up at that hour, e.g. a dawn pilgrim;
  nocturnal animals belong in ``night_workers``).
  Buildings, objects, abstractions, institutions, spirits and AI agents never sleep and spend no
  energy. An asleep entity is planned ``tensor_only`` (it neither speaks nor witnesses).
- Hours awake are counted from ``wake_hour`` on the body clock; after ``fatigue_after_hours``
  every further hour adds ``fatigue_per_hour_awake`` to the cost of actions.
- Between 22h and 06h (``night_start_hour``/``night_end_hour``) actions cost
  ``night_energy_penalty`` times more.
- Energy (``cognitive.energy``, 0–100) pays for presence (``presence_cost`` × the activity's
  intensity) and for each dialog turn (``turn_cost``), both times the night and fatigue factors.
  ``physical.stamina`` falls by half the energy fraction spent. Sleep restores
  ``sleep_recovery_per_hour`` per hour since the causal parent.
- The budget of a timepoint is ``energy_budget`` (× ``low_hours_budget_factor`` during the
  circadian trough, ``circadian_low_hours``), never more than the energy left; the energy-budget
  validator (M4) compares it with what was spent.

Per (timepoint, entity) the evidence is kept in ``evidence.circadian[tp_id][entity_id]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from timepoint.kernel.mechanism_settings import MechanismSettings, read_settings
from timepoint.kernel.state import WorldState
from timepoint.scenario.schema import Scenario
from timepoint.world import Entity, EntityKind, Timepoint
from timepoint.world.evidence import CircadianReading, CircadianRow

#: Kinds that never sleep and spend no bodily energy.
SLEEPLESS_KINDS = frozenset(
    {
        EntityKind.BUILDING,
        EntityKind.OBJECT,
        EntityKind.ABSTRACT,
        EntityKind.INSTITUTION,
        EntityKind.KAMI,
        EntityKind.AI,
        EntityKind.ANY,
    }
)


class ActivityWindow(BaseModel):
    """Hours of one activity, its probability inside them and how tiring it is (0–1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: list[int]
    probability: float = Field(ge=0, le=1)
    intensity: float = Field(0.5, ge=0, le=2)


DEFAULT_ACTIVITIES: dict[str, ActivityWindow] = {
    "sleep": ActivityWindow(hours=[0, 1, 2, 3, 4, 5], probability=0.95, intensity=0.0),
    "meal": ActivityWindow(hours=[7, 12, 19], probability=0.8, intensity=0.4),
    "work": ActivityWindow(hours=list(range(9, 17)), probability=0.7, intensity=1.0),
    "social": ActivityWindow(hours=[18, 19, 20, 21, 22], probability=0.6, intensity=0.8),
    "travel": ActivityWindow(hours=[6, 7, 8, 17, 18, 19, 20], probability=0.5, intensity=0.7),
}


class CircadianSettings(MechanismSettings):
    """M14 constants (reference defaults). ``activities`` entries replace the default windows."""

    activities: dict[str, ActivityWindow] = Field(default_factory=dict, validate_default=True)
    adjacent_factor: float = Field(0.5, ge=0, le=1)
    baseline: float = Field(0.05, ge=0, le=1)
    sleep_threshold: float = Field(0.5, ge=0, le=1)
    wake_on_discomfort: float = Field(0.5, ge=0, le=1)
    wake_hour: int = Field(6, ge=0, le=23)
    night_start_hour: int = Field(22, ge=0, le=23)
    night_end_hour: int = Field(6, ge=0, le=23)
    night_energy_penalty: float = Field(1.5, ge=1)
    fatigue_after_hours: float = Field(16, ge=0)
    fatigue_per_hour_awake: float = Field(0.05, ge=0)
    circadian_low_hours: list[int] = Field(default_factory=lambda: [2, 3, 4, 5])
    low_hours_budget_factor: float = Field(0.8, gt=0, le=1)
    night_workers: list[str] = Field(default_factory=list)
    awake: list[str] = Field(default_factory=list)
    night_roles: list[str] = Field(default_factory=list)
    night_trait: str = "night_shift"
    presence_cost: float = Field(5.0, ge=0)
    turn_cost: float = Field(3.0, ge=0)
    energy_budget: float = Field(30.0, gt=0)
    sleep_recovery_per_hour: float = Field(6.0, ge=0)
    max_recovery_hours: float = Field(8.0, ge=0)

    @field_validator("activities")
    @classmethod
    def _merge_activities(cls, value: dict[str, ActivityWindow]) -> dict[str, ActivityWindow]:
        return {**DEFAULT_ACTIVITIES, **value}


def settings_of(
    scenario: Scenario, ignored: dict[str, list[str]] | None = None
) -> CircadianSettings:
    return read_settings(scenario, "m14", CircadianSettings, ignored)


def activity_table(hour: int, settings: CircadianSettings) -> dict[str, float]:
    """Probability of each activity at ``hour``: in its window, next to it (half), or baseline."""
    table = {}
    for name, window in settings.activities.items():
        hours = {h % 24 for h in window.hours}
        if hour % 24 in hours:
            table[name] = window.probability
        elif (hour - 1) % 24 in hours or (hour + 1) % 24 in hours:
            table[name] = window.probability * settings.adjacent_factor
        else:
            table[name] = settings.baseline
    return table


def is_night(hour: int, settings: CircadianSettings) -> bool:
    start, end = settings.night_start_hour, settings.night_end_hour
    return start <= hour or hour < end if start > end else start <= hour < end


def works_nights(entity: Entity, settings: CircadianSettings) -> bool:
    return (
        entity.id in settings.night_workers
        or entity.role.value in settings.night_roles
        or entity.traits.get(settings.night_trait, 0.0) > 0
    )


def availability(entity: Entity, tp: Timepoint, settings: CircadianSettings) -> CircadianReading:
    """The circadian reading of ``entity`` at ``tp`` (see the module rules)."""
    hour = tp.timestamp.hour
    night = is_night(hour, settings)
    base: dict[str, Any] = {"entity_id": entity.id, "hour": hour, "night": night}
    if entity.kind in SLEEPLESS_KINDS:
        return CircadianReading(
            **base,
            body_hour=hour,
            activity="present",
            probability=1.0,
            sleep_probability=0.0,
            asleep=False,
            hours_awake=0.0,
            fatigue_factor=1.0,
            cost_factor=0.0,
            reason="never sleeps",
        )
    body_hour = (hour + 12) % 24 if works_nights(entity, settings) else hour
    table = activity_table(body_hour, settings)
    sleep_p = table.get("sleep", 0.0)
    awake_options = {k: v for k, v in table.items() if k != "sleep"} or {"rest": settings.baseline}
    activity = max(sorted(awake_options), key=lambda k: awake_options[k])
    discomfort = max(entity.physical.pain, entity.physical.fever)
    sleepy = sleep_p >= settings.sleep_threshold and entity.id not in settings.awake
    if sleepy and discomfort < settings.wake_on_discomfort:
        return CircadianReading(
            **base,
            body_hour=body_hour,
            activity="sleep",
            probability=sleep_p,
            sleep_probability=sleep_p,
            asleep=True,
            hours_awake=0.0,
            fatigue_factor=1.0,
            cost_factor=0.0,
            reason=f"asleep (p={sleep_p:.2f} at body hour {body_hour})",
        )
    reason = "awake"
    if sleepy:
        activity, reason = "rest", f"kept awake by pain/fever ({discomfort:.2f})"
    awake = float((body_hour - settings.wake_hour) % 24)
    fatigue = 1.0 + settings.fatigue_per_hour_awake * max(0.0, awake - settings.fatigue_after_hours)
    window = settings.activities.get(activity)
    intensity = window.intensity if window else 0.3
    penalty = settings.night_energy_penalty if night else 1.0
    return CircadianReading(
        **base,
        body_hour=body_hour,
        activity=activity,
        probability=awake_options.get(activity, settings.baseline),
        sleep_probability=sleep_p,
        asleep=False,
        hours_awake=awake,
        fatigue_factor=round(fatigue, 4),
        cost_factor=round(intensity * penalty * fatigue, 4),
        reason=reason,
    )


def asleep_at(scenario: Scenario, entities: Iterable[Entity], tp: Timepoint) -> set[str]:
    """Ids of the present entities asleep at ``tp`` (empty when M14 is disabled)."""
    if not scenario.mechanisms.enabled("m14"):
        return set()
    settings = settings_of(scenario)
    return {
        e.id
        for e in entities
        if e.id in tp.entities_present and availability(e, tp, settings).asleep
    }


def apply_circadian(state: WorldState, tp: Timepoint) -> dict[str, CircadianRow]:
    """Charge presence, restore sleepers and record each present entity's reading at ``tp``."""
    settings = settings_of(state.scenario, state.evidence.ignored_settings)
    rows: dict[str, CircadianRow] = {}
    gap = _hours_since_parent(state, tp)
    for entity_id in tp.entities_present:
        entity = state.entities.get(entity_id)
        if entity is None:
            continue
        reading = availability(entity, tp, settings)
        energy = entity.cognitive.energy
        budget = settings.energy_budget
        if tp.timestamp.hour in settings.circadian_low_hours:
            budget *= settings.low_hours_budget_factor
        spent = 0.0
        if reading.asleep:
            recovered = settings.sleep_recovery_per_hour * min(gap, settings.max_recovery_hours)
            _set_energy(state, entity, energy + recovered)
            state.ledger.count("M14", "inactive")
        elif entity.kind not in SLEEPLESS_KINDS:
            spent = settings.presence_cost * reading.cost_factor
            _set_energy(state, entity, energy - spent)
            state.ledger.count("M14", "active")
            state.ledger.count("M14", "energy spent", round(spent, 3))
            if reading.reason.startswith("kept awake"):
                state.ledger.count("M14", "kept awake by discomfort")
        rows[entity_id] = CircadianRow(
            **reading.model_dump(),
            energy_before=round(energy, 3),
            budget=round(min(budget, energy), 3),
            spent=round(spent, 3),
            turns=0,
            energy_after=round(state.entities[entity_id].cognitive.energy, 3),
        )
    state.evidence.circadian[tp.id] = rows
    return rows


def settle_exertion(state: WorldState, tp: Timepoint) -> float:
    """Charge each speaker of ``tp``'s dialog for its turns; returns the energy spent."""
    settings = settings_of(state.scenario)
    rows = state.evidence.circadian.get(tp.id, {})
    turns: dict[str, int] = {}
    for dialog in state.dialogs:
        if dialog.timepoint_id == tp.id:
            for turn in dialog.turns:
                if turn.tone != "narrated":
                    turns[turn.speaker] = turns.get(turn.speaker, 0) + 1
    total = 0.0
    for entity_id, count in sorted(turns.items()):
        row = rows.get(entity_id)
        entity = state.entities.get(entity_id)
        if row is None or entity is None or entity.kind in SLEEPLESS_KINDS:
            continue
        night = settings.night_energy_penalty if row.night else 1.0
        cost = count * settings.turn_cost * night * row.fatigue_factor
        _set_energy(state, entity, entity.cognitive.energy - cost)
        rows[entity_id] = row.model_copy(
            update={
                "turns": count,
                "spent": round(row.spent + cost, 3),
                "energy_after": round(state.entities[entity_id].cognitive.energy, 3),
            }
        )
        total += cost
    if total:
        state.ledger.count("M14", "energy spent", round(total, 3))
    return total


def _set_energy(state: WorldState, entity: Entity, energy: float) -> None:
    before = entity.cognitive.energy
    energy = min(100.0, max(0.0, energy))
    stamina = entity.physical.stamina + (energy - before) / 200
    state.set_entity(
        entity.model_copy(
            update={
                "cognitive": entity.cognitive.model_copy(update={"energy": round(energy, 3)}),
                "physical": entity.physical.model_copy(
                    update={"stamina": round(min(1.0, max(0.0, stamina)), 4)}
                ),
            }
        )
    )


def _hours_since_parent(state: WorldState, tp: Timepoint) -> float:
    parent = state.timepoints.get(tp.causal_parent or "")
    if parent is None:
        return 0.0
    return max(0.0, (tp.timestamp - parent.timestamp).total_seconds() / 3600)
