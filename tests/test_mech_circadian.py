"""M14 circadian patterns: who is awake at an hour, and what the hour does to energy."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

import timepoint as tp
from timepoint.scenario.schema import Scenario
from timepoint.time.circadian import CircadianSettings, activity_table, availability
from timepoint.world import Entity, ExposureKind, PhysicalState, ResolutionLevel, Timepoint


def ward(start: str, m14: dict | None = None, count: int = 2) -> Scenario:
    """Two night nurses and a day clerk in a hospital ward."""
    return Scenario.model_validate(
        {
            "id": "ward",
            "title": "Ward at night",
            "description": "Nurses keep watch over a quiet ward.",
            "entities": {
                "count": 3,
                "initial_resolution": "dialog",
                "roster": [
                    {
                        "id": "nurse_ada",
                        "name": "Ada Park",
                        "role": "primary",
                        "description": "Night nurse.",
                        "traits": {"night_shift": 1.0},
                        "knowledge": ["Bed four needs fluids at three"],
                    },
                    {
                        "id": "nurse_ben",
                        "name": "Ben Ortiz",
                        "role": "primary",
                        "description": "Night nurse.",
                        "traits": {"calm": 0.5},
                        "knowledge": ["The pharmacy closes at midnight"],
                    },
                    {
                        "id": "clerk",
                        "name": "Cleo Hart",
                        "role": "primary",
                        "description": "Day clerk.",
                        "traits": {"calm": 0.2},
                        "knowledge": ["The roster changes on Monday"],
                    },
                ],
            },
            "timepoints": {"count": count, "start": start, "location": "Ward 7"},
            "mechanisms": {"settings": {"m14": {"night_workers": ["nurse_ben"], **(m14 or {})}}},
        }
    )


def moment(hour: int) -> Timepoint:
    return Timepoint(id="tp", timestamp=datetime(2025, 3, 1, hour, 0).astimezone(), event="x")


def test_activity_table_follows_the_reference_table():
    s = CircadianSettings()
    assert activity_table(3, s)["sleep"] == pytest.approx(0.95)
    assert activity_table(12, s)["meal"] == pytest.approx(0.8)
    assert activity_table(13, s)["meal"] == pytest.approx(0.4)  # next to the 12h meal
    assert activity_table(10, s)["work"] == pytest.approx(0.7)
    assert activity_table(17, s)["work"] == pytest.approx(0.35)
    assert activity_table(17, s)["travel"] == pytest.approx(0.5)
    assert activity_table(23, s)["sleep"] == pytest.approx(0.475)
    assert activity_table(10, s)["social"] == pytest.approx(0.05)


def test_fatigue_after_sixteen_hours_awake_and_discomfort_keeps_awake():
    s = CircadianSettings()
    day = Entity(id="d", name="D")
    late = availability(day, moment(23), s)
    assert not late.asleep and late.hours_awake == 17
    assert late.fatigue_factor == pytest.approx(1.05)
    assert late.night and late.cost_factor == pytest.approx(0.8 * 1.5 * 1.05, abs=1e-3)
    assert availability(day, moment(20), s).fatigue_factor == 1.0
    assert availability(day, moment(3), s).asleep
    patient = day.model_copy(update={"physical": PhysicalState(pain=0.9)})
    kept = availability(patient, moment(3), s)
    assert not kept.asleep and kept.reason.startswith("kept awake")


def test_day_worker_sleeps_at_two_while_night_workers_talk(settings):
    run = tp.run(ward("2025-03-01T02:00:00+00:00"), settings=settings)
    record = run.record
    first = record.timepoints[0]
    assert "clerk" in first.entities_present
    cells = {(c.entity_id, c.timepoint_id): c.resolution for c in record.fidelity}
    assert cells[("clerk", first.id)] is ResolutionLevel.TENSOR_ONLY
    assert cells[("nurse_ada", first.id)] >= ResolutionLevel.DIALOG
    rows = record.evidence.circadian[first.id]
    assert rows["clerk"].asleep and rows["clerk"].activity == "sleep"
    assert not rows["nurse_ada"].asleep and rows["nurse_ada"].body_hour == 14
    assert not rows["nurse_ben"].asleep
    dialog = next(d for d in record.dialogs if d.timepoint_id == first.id)
    assert set(dialog.participants) == {"nurse_ada", "nurse_ben"}
    assert all(t.speaker != "clerk" for d in record.dialogs for t in d.turns)
    witnessed = [
        e
        for e in record.exposures
        if e.entity_id == "clerk" and e.kind in (ExposureKind.WITNESSED, ExposureKind.EXPERIENCED)
    ]
    assert witnessed == [], "a sleeper witnesses nothing"
    counts = next(m.counts for m in record.mechanisms if m.mechanism == "M14")
    assert counts["inactive"] == 2 and counts["active"] == 4


def test_night_penalty_makes_the_same_work_cost_half_as_much_again(settings):
    night = tp.run(ward("2025-03-01T02:00:00+00:00", count=1), settings=settings).record
    day = tp.run(
        ward("2025-03-01T14:00:00+00:00", {"night_workers": []}, count=1), settings=settings
    ).record
    ada_night = night.evidence.circadian[night.timepoints[0].id]["nurse_ada"]
    ben_day = day.evidence.circadian[day.timepoints[0].id]["nurse_ben"]
    # the night nurse at 02:00 and a day worker at 14:00 are both at body hour 14: work
    assert ada_night.activity == ben_day.activity == "work"
    assert ada_night.turns == ben_day.turns > 0
    assert ada_night.spent == pytest.approx(1.5 * ben_day.spent)
    ada = next(e for e in night.entities if e.id == "nurse_ada")
    assert ada.cognitive.energy == pytest.approx(100 - ada_night.spent)
    assert ada.physical.stamina == pytest.approx(1 - ada_night.spent / 200)


def test_settings_of_the_wrong_type_are_refused_with_the_scenario_and_unknown_keys_reported(
    settings,
):
    for wrong in ({"night_energy_penalty": "high"}, {"night_start_hour": 99}):
        with pytest.raises(ValidationError) as refused:
            ward("2025-03-01T02:00:00+00:00", wrong)
        [error] = refused.value.errors()
        assert error["loc"] == ("mechanisms", "settings", "m14", *wrong)
    record = tp.run(
        ward("2025-03-01T02:00:00+00:00", {"night_workrs": ["clerk"]}), settings=settings
    ).record
    assert record.evidence.ignored_settings["m14"] == [
        "night_workrs (did you mean 'night_workers'?)"
    ]
