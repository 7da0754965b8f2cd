"""CYCLICAL: recurring motifs with variation, prophecies made and checked, computed scores."""

from __future__ import annotations

import random

import timepoint as tp
from timepoint.time.modes.cyclical import Prophecy, vary
from timepoint.time.wording import content_words
from timepoint.world import ExposureKind

from .conftest import SCENARIOS

CYCLICAL = SCENARIOS / "base" / "cyclical.yaml"
NAMES = ["Ada Byron", "Ben Ode", "Cy Young"]


def test_variations_rewrite_the_motif():
    motif = "Ada Byron and Ben Ode open the market at dawn. Everyone watches."
    assert "Ben Ode and Ada Byron" in vary(motif, "inversion", NAMES, 1)
    mutated = vary(motif, "mutation", NAMES, 1)
    assert "Cy Young" in mutated and "Everyone watches" not in mutated
    assert "stronger" in vary(motif, "amplification", NAMES, 1)
    assert vary(motif, "repetition", NAMES, 2).endswith("open the market at dawn")
    assert "(drought)" in vary(motif, "drought", NAMES, 1)


def test_offline_prophecy_predicts_recurring_or_new_elements():
    context = {
        "speakers": [{"id": "kami", "name": "The Kami", "kind": "kami"}],
        "motifs": ["The harvest fails at the river", "The river floods the harvest fields"],
        "scenario": {"title": "Valley", "description": "A valley of orchards and millers."},
        "next_cycle": 2,
    }
    motif_words = content_words(" ".join(context["motifs"]))
    true = Prophecy.offline_answer({**context, "accuracy": 1.0}, random.Random(3))
    false = Prophecy.offline_answer({**context, "accuracy": 0.0}, random.Random(3))
    assert true["speaker"] == "kami" and "cycle 2" in true["text"]
    assert set(true["elements"]) <= motif_words
    assert not set(false["elements"]) & motif_words


def test_cyclical_run_recurs_prophesies_and_validates(settings):
    run = tp.run(CYCLICAL, settings=settings, overrides={"timepoints.count": 7})
    record = run.record
    assert record.status == "completed"
    cycles = record.extras["cycles"]
    assert [len(c) for c in cycles["cycles"]] == [3, 3, 1]
    recurrences = [run.timepoints[i].event for c in cycles["cycles"][1:] for i in c]
    assert all(e.startswith("The pattern returns") for e in recurrences)
    prophecies = cycles["prophecies"]
    assert len(prophecies) == 2  # at the end of the first and the second cycle
    checked = [p for p in prophecies if p["fulfilled"] is not None]
    assert checked, "the prophecy about the second cycle is checked when it ends"
    for prophecy in checked:
        words = content_words(
            " ".join(run.timepoints[i].event for i in cycles["cycles"][prophecy["target_cycle"]])
        )
        expected = all(content_words(e) & words for e in prophecy["elements"])
        assert prophecy["fulfilled"] is expected
    told = [e for e in record.exposures if e.fact_id == prophecies[0]["fact_id"]]
    assert {e.kind for e in told} <= {ExposureKind.TOLD, ExposureKind.INFERRED} and told
    assert any(e.kind is ExposureKind.TOLD and e.source == prophecies[0]["speaker"] for e in told)
    validators = {v.validator: v for v in record.validation if v.validator.startswith("cyclical")}
    assert validators["cyclical_length_consistency"].ok
    assert "cyclical_pattern_consistency" in validators
    assert "cyclical_prophecy_fulfilment" in validators
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M17"]["cycles"] == 3 and ledger["M17"]["prophecies made"] == 2
