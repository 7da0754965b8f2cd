"""M2 progressive training: thresholds elevate entities one level and an enrichment pass adds
what they learned as ``learned`` exposures (source ``elevation``); full and compressed states are
both kept."""

from __future__ import annotations

import random

import pytest

import timepoint as tp
from timepoint.engine.restore import restore_state
from timepoint.fidelity.training import (
    EnrichmentDraft,
    TrainingPolicy,
    count_queries,
    unit_centrality,
)
from timepoint.settings import Settings
from timepoint.world import Entity, EntityMetadata, ExposureKind, ResolutionLevel

from .test_mech_ask import salon_scenario


def entity(queries: int = 0, iterations: int = 0) -> Entity:
    meta = EntityMetadata(query_count=queries, training_iterations=iterations)
    return Entity(id="e", name="E", metadata=meta)


@pytest.mark.parametrize(
    ("level", "queries", "centrality", "iterations", "fires"),
    [
        (ResolutionLevel.TENSOR_ONLY, 5, None, 0, "queries"),
        (ResolutionLevel.TENSOR_ONLY, 4, None, 0, None),
        (ResolutionLevel.SCENE, 10, None, 0, "queries"),
        (ResolutionLevel.SCENE, 9, None, 0, None),
        (ResolutionLevel.GRAPH, 15, None, 0, "queries"),
        (ResolutionLevel.DIALOG, 24, None, 0, None),
        (ResolutionLevel.DIALOG, 25, None, 0, "queries"),
        (ResolutionLevel.TRAINED, 99, 0.9, 0, None),
        (ResolutionLevel.SCENE, 0, 0.31, 2, "centrality"),
        (ResolutionLevel.SCENE, 0, 0.31, 3, None),
        (ResolutionLevel.SCENE, 0, 0.3, 0, None),
    ],
)
def test_reference_thresholds(level, queries, centrality, iterations, fires):
    trigger = TrainingPolicy().trigger(entity(queries, iterations), level, centrality)
    assert (trigger is None) if fires is None else (fires in trigger)


def test_thresholds_come_from_the_scenario():
    policy = TrainingPolicy.from_settings({"queries": [1, 2, 3, 4], "centrality": 0.5})
    assert policy.trigger(entity(2), ResolutionLevel.SCENE) is not None
    assert policy.trigger(entity(0), ResolutionLevel.SCENE, 0.45) is None


def test_unit_centrality_keeps_only_hubs_above_the_threshold_in_a_crowd():
    crowd = {f"d{n}": 0.84 for n in range(24)} | {"chair": 1.0}
    shares = unit_centrality(crowd)
    assert abs(sum(v * v for v in shares.values()) - 1) < 1e-9
    assert all(v < 0.3 for v in shares.values())
    trio = unit_centrality({"a": 1.0, "b": 1.0, "c": 1.0})
    assert all(v > 0.3 for v in trio.values())


def test_offline_enrichment_is_inferred_from_what_the_entity_knows():
    context = {
        "entity": {"id": "mary", "name": "Mary Somerville"},
        "event": "Ada and Charles argue over the engine",
        "location": "the salon",
        "others": ["Ada Lovelace", "Charles Babbage"],
        "known": [
            {"id": "f1", "text": "The engine uses punched cards", "source_name": "Charles Babbage"},
            {"id": "f2", "text": "The Treasury withdrew funding", "source_name": ""},
        ],
        "count": 3,
    }
    facts = EnrichmentDraft.offline_answer(context, random.Random(1))["facts"]
    assert len(facts) == 3
    assert "Charles Babbage is pressing the point that the engine uses punched cards" in facts
    assert all(
        f not in {"The engine uses punched cards", "The Treasury withdrew funding"} for f in facts
    )


@pytest.fixture(scope="module")
def salon(tmp_path_factory):
    return tp.run(salon_scenario(), settings=Settings(home=tmp_path_factory.mktemp("m2") / "runs"))


def test_query_counts_are_derived_from_the_run(salon):
    record = salon.record
    state = restore_state(record, salon.scenario)
    counts = count_queries(state)
    for e in record.entities:
        assert e.metadata.query_count == counts[e.id]
    ada = counts["ada"]
    presence = sum("ada" in t.entities_present for t in record.timepoints)
    dialogs = sum("ada" in d.participants for d in record.dialogs)
    refs = sum(len(t.knowledge_refs) for d in record.dialogs for t in d.turns if t.speaker == "ada")
    assert ada == presence + dialogs + refs


def test_central_entities_are_elevated_and_enriched_with_learned_exposures(salon):
    record = salon.record
    elevations = record.evidence.training
    assert {e.entity_id for e in elevations} == {"critic", "footman", "mary"}
    entities = {e.id: e for e in record.entities}
    names = {e.name for e in record.entities} | {record.timepoints[0].location}
    for elevation in elevations:
        who = entities[elevation.entity_id]
        assert "centrality" in elevation.trigger
        assert ResolutionLevel(elevation.to_level) == ResolutionLevel(elevation.from_level).raised()
        assert who.resolution == ResolutionLevel(elevation.to_level)
        assert who.metadata.training_iterations == 1
        learned = {
            e.fact_id: e
            for e in record.exposures
            if e.entity_id == who.id and e.kind is ExposureKind.LEARNED
        }
        assert set(elevation.fact_ids) == set(learned)
        for event in learned.values():
            assert event.source == "elevation" and event.timepoint_id == elevation.timepoint_id
            assert any(name in event.fact_text for name in names), event.fact_text
        visible = {e.fact_id for e in salon.knowledge_at(who.id, elevation.timepoint_id)}
        assert set(learned) <= visible
        cell = next(
            c
            for c in record.fidelity
            if (c.entity_id, c.timepoint_id) == (who.id, elevation.timepoint_id)
        )
        assert cell.resolution == ResolutionLevel(elevation.to_level)
        assert cell.tokens >= elevation.tokens
        assert who.id in record.evidence.tensors.entities, "compressed state kept too"
    ledger = {e.mechanism: e.counts for e in record.mechanisms}["M2"]
    assert ledger["entities elevated"] == len(elevations) == ledger["by centrality"]
    assert ledger["learned facts"] == sum(len(e.fact_ids) for e in elevations)
    assert ledger["enrichment tokens"] == sum(e.tokens for e in elevations)


def test_disabled_m2_elevates_nothing(tmp_path):
    scenario = salon_scenario().with_overrides({"mechanisms.disabled": ["m2"]})
    record = tp.run(scenario, settings=Settings(home=tmp_path / "runs")).record
    assert record.evidence.training == []
    assert all(e.mechanism != "M2" for e in record.mechanisms)
    assert not [e for e in record.exposures if e.kind is ExposureKind.LEARNED]
