"""M6 tensor compression: three vectors per entity, PCA fitted across the run's entities, stored,
decompressed, and measured (size before/after, recall of top facts)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import timepoint as tp
from timepoint.engine.restore import restore_state
from timepoint.fidelity.compression import (
    COGNITIVE,
    CONTEXT_DIM,
    compress,
    decompress,
    embed_text,
    fact_salience,
    likely_facts,
    project,
    tensor_summary,
)
from timepoint.settings import Settings
from timepoint.world import Entity

from .conftest import SCENARIOS


def test_hashing_embedding_is_a_deterministic_unit_vector_that_keeps_word_overlap():
    a = embed_text("The Treasury withdrew funding for the engine")
    assert a.shape == (CONTEXT_DIM,) and abs(np.linalg.norm(a) - 1) < 1e-9
    assert np.array_equal(a, embed_text("the treasury withdrew funding for the engine."))
    close = embed_text("Funding for the engine was withdrawn by the Treasury")
    far = embed_text("Lord Byron's estate pays for the carriages")
    assert a @ close > a @ far


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    home = tmp_path_factory.mktemp("m6") / "runs"
    return tp.run(SCENARIOS / "showcase" / "board_meeting.yaml", settings=Settings(home=home))


def test_every_entity_has_three_stored_vectors_and_the_ledger_measures_them(board):
    record = board.record
    tensors = record.evidence.tensors
    assert tensors is not None
    assert set(tensors.entities) == {e.id for e in record.entities}
    n = len(record.entities)
    for vectors in tensors.entities.values():
        assert set(vectors) == {"context", "biology", "behaviour"}
        assert 0 < len(vectors["context"]) <= min(8, n - 1)
    size, quality = tensors.size, tensors.quality
    assert size.bytes_after < size.bytes_before / 20
    assert size.tokens_after < size.tokens_before
    ledger = {e.mechanism: e.counts for e in record.mechanisms}["M6"]
    assert ledger["entities compressed"] == n
    assert ledger["bytes before"] == size.bytes_before
    assert ledger["bytes after"] == size.bytes_after
    assert ledger["recall@5"] == quality.recall_at_k > 0


def test_decompression_recovers_the_full_state_when_components_span_the_entities(board):
    record = board.record
    state = restore_state(record, board.scenario)
    enough = len(record.entities) - 1
    tensors = compress(state, {"context": enough, "biology": enough, "behaviour": enough})
    assert tensors is not None
    for entity in record.entities:
        state = decompress(tensors, entity.id)
        assert state["biology"]["age"] == pytest.approx(entity.physical.age, abs=0.01)
        assert state["biology"]["health"] == pytest.approx(entity.physical.health, abs=1e-3)
        for trait, value in entity.traits.items():
            assert state["traits"][trait] == pytest.approx(value, abs=1e-3)
        assert set(state["cognitive"]) == set(COGNITIVE)
    assert tensors.quality.recall_at_k == tensors.quality.recall_at_k_uncompressed


def test_fewer_components_than_entities_lose_information_measurably(board):
    state = restore_state(board.record, board.scenario)
    full = compress(state)
    tight = compress(state, {"context": 1, "biology": 1, "behaviour": 1})
    assert full is not None and tight is not None
    assert all(len(v["context"]) == 1 for v in tight.entities.values())
    assert tight.size.bytes_after < full.size.bytes_after
    assert tight.quality.behaviour_rmse > full.quality.behaviour_rmse
    # recall@k is retrieval quality, not a loss: fewer components can denoise and retrieve
    # better, so only its range is checked here
    assert 0 <= tight.quality.recall_at_k <= 1


def test_summary_for_prompts_names_facts_the_entity_holds(board):
    record = board.record
    tensors = record.evidence.tensors
    assert tensors is not None
    state = restore_state(record, board.scenario)
    facts = {f.id: f.text for f in state.facts.values()}
    salience = fact_salience(state)
    for entity in record.entities:
        best = likely_facts(tensors, entity.id, facts, top=1)[0]
        assert best in salience[entity.id], f"{entity.id} is summarised by a fact it holds"
        summary = tensor_summary(tensors, entity.id, facts, entity.name)
        assert summary.startswith(f"{entity.name} (compressed state): probably knows ")
        assert facts[best].rstrip(".") in summary
        assert f"age {entity.physical.age:.0f}" in summary


def test_a_late_entity_is_encoded_with_the_fitted_codebook(board):
    state = restore_state(board.record, board.scenario)
    tensors = copy.deepcopy(board.record.evidence.tensors)
    assert tensors is not None
    codebook = copy.deepcopy(tensors.codebook)
    donor = next(iter(state.entities.values()))
    newcomer = Entity(id="guest_3", name="Guest 3", traits=dict(donor.traits))
    state.set_entity(newcomer)
    vectors = project(tensors, state, "guest_3")
    assert tensors.codebook == codebook
    assert [len(v) for v in vectors.values()] == [
        len(tensors.entities[donor.id][k]) for k in vectors
    ]
    assert decompress(tensors, "guest_3")["biology"]["age"] == pytest.approx(40, abs=15)
