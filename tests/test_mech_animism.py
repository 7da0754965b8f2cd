"""M16 animistic entities: goals and constraints, a part in scenes, narrated influence in dialog."""

from __future__ import annotations

import timepoint as tp
from timepoint.scenario.schema import Scenario
from timepoint.world import EntityKind


def shrine(level: int = 5, m16: dict | None = None) -> Scenario:
    """Two pilgrims, a fox and (from level 5) the shrine's kami, mid-morning."""
    roster = [
        {
            "id": "pilgrim",
            "name": "Haru Sato",
            "role": "primary",
            "description": "A pilgrim.",
            "traits": {"sincerity": 0.8},
            "knowledge": ["The family shop closed last month"],
        },
        {
            "id": "priest",
            "name": "Kenji Mori",
            "role": "primary",
            "description": "The shrine priest.",
            "traits": {"patience": 0.7},
            "knowledge": ["The festival starts at dusk"],
        },
        {
            "id": "fox",
            "name": "the white fox",
            "kind": "animal",
            "role": "secondary",
            "description": "The kami's messenger.",
            "traits": {"wariness": 0.6},
            "knowledge": ["The pilgrim bowed at every gate"],
        },
    ]
    if level >= 5:
        roster.append(
            {
                "id": "kami",
                "name": "Inari",
                "kind": "kami",
                "role": "primary",
                "description": "The kami of rice and merchants.",
                "traits": {"benevolence": 0.7},
                "goals": ["answer sincere petitions"],
                "knowledge": ["Merchants have prayed here for centuries"],
            }
        )
    return Scenario.model_validate(
        {
            "id": "shrine",
            "title": "Morning at the shrine",
            "description": "A pilgrim asks the shrine for guidance.",
            "entities": {
                "count": len(roster),
                "animism": level,
                "initial_resolution": "dialog",
                "roster": roster,
            },
            "timepoints": {
                "count": 2,
                "start": "2025-11-03T10:00:00+09:00",
                "location": "the fox shrine",
            },
            "mechanisms": {"settings": {"m16": m16 or {}}},
        }
    )


def test_fox_and_kami_take_part_in_the_scene_with_goals_and_constraints(settings):
    record = tp.run(shrine(), settings=settings).record
    for scene in record.scenes:
        assert "the white fox (animal)" in scene.description
        assert "Inari (kami)" in scene.description
        rows = {r.entity_id: r for r in record.evidence.animism[scene.timepoint_id]}
        assert set(rows) == {"fox", "kami"}
        assert f"the white fox: {rows['fox'].influence}" in scene.description
    entities = {e.id: e for e in record.entities}
    assert entities["fox"].goals and "cannot speak" in entities["fox"].constraints
    assert entities["kami"].goals == ["answer sincere petitions"]  # the scenario's goal is kept
    assert "acts only through signs and omens" in entities["kami"].constraints
    counts = next(m.counts for m in record.mechanisms if m.mechanism == "M16")
    assert counts["scene appearances"] == 4
    assert counts["entities given goals and constraints"] == 2


def test_above_the_threshold_they_act_in_dialog_as_narrated_influence(settings):
    record = tp.run(shrine(), settings=settings).record
    kinds = {e.id: e.kind for e in record.entities}
    for dialog in record.dialogs:
        narrated = [t for t in dialog.turns if t.tone == "narrated"]
        assert {t.speaker for t in narrated} == {"fox", "kami"}
        assert all(t.knowledge_refs == [] for t in narrated)
        assert {"fox", "kami"} <= set(dialog.participants)
        spoken = [t for t in dialog.turns if t.tone != "narrated"]
        assert spoken and all(kinds[t.speaker] is EntityKind.HUMAN for t in spoken)
        rows = {r.entity_id: r for r in record.evidence.animism[dialog.timepoint_id]}
        assert {t.text for t in narrated} == {rows["fox"].influence, rows["kami"].influence}
    told_kami = [e for e in record.exposures if e.entity_id == "kami" and e.kind.value == "told"]
    assert told_kami, "a narrated participant hears what is said"
    assert record.usage.by_action["animistic_behavior"].calls == 4
    counts = next(m.counts for m in record.mechanisms if m.mechanism == "M16")
    assert counts["narrated turns"] == 4


def test_below_the_threshold_presence_is_composed_without_calls_or_turns(settings):
    record = tp.run(shrine(level=2), settings=settings).record
    assert all(t.tone != "narrated" for d in record.dialogs for t in d.turns)
    assert "animistic_behavior" not in record.usage.by_action
    rows = record.evidence.animism[record.timepoints[0].id]
    assert [(r.entity_id, r.narrated) for r in rows] == [("fox", False)]
    assert rows[0].influence in record.scenes[0].description
    raised = tp.run(shrine(m16={"dialog_threshold": 6}), settings=settings).record
    assert all(t.tone != "narrated" for d in raised.dialogs for t in d.turns)
