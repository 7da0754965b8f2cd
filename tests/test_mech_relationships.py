"""M13 multi-entity synthesis: relationships per pair per timepoint, trends, contradictions."""

from __future__ import annotations

import pytest

import timepoint as tp
from timepoint.scenario.schema import Scenario
from timepoint.synthesis.relationships import contradict, polarity, trend
from timepoint.world import Relationship


def council(knowledge_b: str, m13: dict | None = None, count: int = 3) -> Scenario:
    """Three councillors: ana and bo are rivals, ana and cy allies."""
    facts = {
        "ana": "The bridge is closed",
        "bo": knowledge_b,
        "cy": "The harvest was poor this year",
    }
    return Scenario.model_validate(
        {
            "id": "council",
            "title": "Town council",
            "description": "The council meets about the river crossing.",
            "entities": {
                "count": 3,
                "initial_resolution": "dialog",
                "roster": [
                    {
                        "id": key,
                        "name": key.title(),
                        "role": "primary",
                        "description": "A councillor.",
                        "traits": {"stubbornness": 0.3},
                        "knowledge": [fact],
                    }
                    for key, fact in facts.items()
                ],
                "relations": [
                    {"a": "ana", "b": "bo", "kind": "rival"},
                    {"a": "ana", "b": "cy", "kind": "ally"},
                ],
            },
            "timepoints": {"count": count, "start": "2025-04-02T10:00:00+00:00"},
            "mechanisms": {"settings": {"m13": m13 or {}}},
        }
    )


def pair(record, a: str, b: str, tp_id: str) -> Relationship:
    return next(r for r in record.relationships if (r.a, r.b) == (a, b) and r.timepoint_id == tp_id)


def test_every_pair_gets_a_record_per_timepoint_seeded_by_declared_relations(settings):
    record = tp.run(council("The river is high"), settings=settings).record
    for moment in record.timepoints:
        pairs = {(r.a, r.b) for r in record.relationships if r.timepoint_id == moment.id}
        assert pairs == {("ana", "bo"), ("ana", "cy"), ("bo", "cy")}
    first = record.timepoints[0].id
    rivals, allies = pair(record, "ana", "bo", first), pair(record, "ana", "cy", first)
    assert rivals.trust < allies.trust and rivals.affinity < allies.affinity
    assert rivals.interactions > 0 and rivals.shared_facts
    later = [pair(record, "ana", "bo", t.id) for t in record.timepoints]
    assert [r.interactions for r in later] == sorted(r.interactions for r in later)
    assert len({(r.trust, r.affinity) for r in later}) > 1, "dialog moves the relationship"
    trends = record.evidence.relationship_trends["main"]
    assert set(trends) == {"ana~bo", "ana~cy", "bo~cy"}
    assert trends["ana~bo"] == trend(record.relationships, "ana", "bo")
    counts = next(m.counts for m in record.mechanisms if m.mechanism == "M13")
    assert counts["relationship records"] == 9


def test_trend_reads_the_recent_changes():
    def series(*values: float) -> list[Relationship]:
        return [
            Relationship(a="a", b="b", timepoint_id=f"t{i}", trust=v, affinity=0.0)
            for i, v in enumerate(values)
        ]

    assert trend(series(0.2, 0.3, 0.4), "a", "b") == "improving"
    assert trend(series(0.6, 0.4, 0.3), "b", "a") == "deteriorating"
    assert trend(series(0.5, 0.51, 0.5), "a", "b") == "stable"
    assert trend(series(0.5, 0.7, 0.4), "a", "b") == "volatile"
    assert trend(series(0.5), "a", "b") == "stable"


def test_negated_statements_contradict():
    assert contradict("The bridge is closed", "The bridge is not closed")
    assert contradict("The bridge is closed.", "the bridge isn't closed")
    assert contradict("The mayor can win", "The mayor cannot win")
    assert not contradict("The bridge is closed", "The bridge is closed")
    assert contradict("The bridge is not closed", "The bridge is never not closed")
    assert not contradict("The bridge is closed", "The river is not high")
    assert polarity("No one saw the fire")[1] is True


def test_contradicting_beliefs_are_recorded_and_lower_alignment(settings):
    clash = tp.run(council("The bridge is not closed"), settings=settings).record
    calm = tp.run(council("The river is high"), settings=settings).record
    found = [v for v in clash.validation if v.validator == "belief_contradiction"]
    assert found and not found[0].ok
    assert "The bridge is closed" in found[0].message
    assert "The bridge is not closed" in found[0].message
    rows = clash.evidence.contradictions
    assert ("ana", "bo") in {(r.a, r.b) for r in rows if r.timepoint_id == "tp_000"}
    for row in rows:  # whoever heard both sides sides with the one heard first
        assert {row.fact_a, row.fact_b} == {found[0].fact_id, rows[0].fact_b}
    assert not [v for v in calm.validation if v.validator == "belief_contradiction"]
    assert calm.evidence.contradictions == []
    first = clash.timepoints[0].id
    assert pair(clash, "ana", "bo", first).alignment == pytest.approx(
        pair(calm, "ana", "bo", first).alignment - 0.25, abs=0.06
    )
    counts = next(m.counts for m in clash.mechanisms if m.mechanism == "M13")
    assert counts["contradictions"] == len(rows)


def test_scenario_can_flag_contradicting_facts(settings):
    flagged = {"contradicts": [["The bridge is closed", "The harvest was poor this year"]]}
    record = tp.run(council("The river is high", flagged, count=1), settings=settings).record
    rows = record.evidence.contradictions
    assert ("ana", "cy") in [(r.a, r.b) for r in rows]
    assert all({r.fact_a, r.fact_b} == {rows[0].fact_a, rows[0].fact_b} for r in rows)
