"""A forward (PEARL) run end to end with the offline model."""

from __future__ import annotations

import itertools
import json
import re

import pytest

import timepoint as tp
from timepoint.engine.runner import RunFailed
from timepoint.knowledge.provenance import Provenance
from timepoint.llm.offline import OfflineModel
from timepoint.world import ExposureKind

from .conftest import JEFFERSON

PLACEHOLDERS = re.compile(r"lorem ipsum|events continue|Antecedent \d|Timepoint \d+/\d+", re.I)


@pytest.fixture
def jefferson_run(settings):
    return tp.run(JEFFERSON, settings=settings)


def test_run_folder_has_every_file_and_complete_record(jefferson_run, settings):
    folder = settings.home / jefferson_run.run_id
    for name in ("scenario.yaml", "run.json", "llm_calls.jsonl", "narrative.md"):
        assert (folder / name).is_file(), name
    record = json.loads((folder / "run.json").read_text())
    for key in (
        "run_id",
        "status",
        "provider",
        "seed",
        "config_hash",
        "entities",
        "timepoints",
        "exposures",
        "dialogs",
        "validation",
        "mechanisms",
        "usage",
    ):
        assert key in record, key
    assert record["status"] == "completed"
    assert record["provider"] == "offline"
    calls = (folder / "llm_calls.jsonl").read_text().splitlines()
    assert len(calls) == record["usage"]["calls"] > 0
    assert not list(settings.home.glob(".*.partial"))


def test_narrative_is_a_coherent_account_without_placeholders(jefferson_run, settings):
    folder = settings.home / jefferson_run.run_id
    narrative = (folder / "narrative.md").read_text()
    for name in ("Jefferson", "Hamilton", "Madison", "dinner"):
        assert name.lower() in narrative.lower()
    assert not PLACEHOLDERS.search((folder / "run.json").read_text())
    initial = {e.fact_id for e in jefferson_run.record.exposures if e.kind is ExposureKind.INITIAL}
    used = {r for d in jefferson_run.record.dialogs for t in d.turns for r in t.knowledge_refs}
    assert used & initial, "dialog should draw on the entities' initial knowledge"


def test_timepoints_form_a_forward_causal_chain(jefferson_run):
    tps = jefferson_run.record.timepoints
    assert tps[0].causal_parent is None
    for parent, child in itertools.pairwise(tps):
        assert child.causal_parent == parent.id
        assert child.timestamp > parent.timestamp
    assert [t.id for t in tps] == jefferson_run.record.main_timeline.timepoint_ids


def test_every_unflagged_turn_uses_only_known_facts(settings):
    run = tp.run(JEFFERSON, model=OfflineModel(seed=0, leak_rate=0.4), settings=settings)
    prov = Provenance(run.timepoints, run.record.exposures)
    for dialog in run.record.dialogs:
        tp_id = dialog.timepoint_id
        path = {tp_id} | _ancestors(run, tp_id)
        heard = {}
        for p in dialog.participants:
            visible = prov.log.visible(p, path, run.timepoints[tp_id].timestamp)
            heard[p] = {
                fid
                for fid, ev in visible.items()
                if not (ev.kind is ExposureKind.TOLD and ev.timepoint_id == tp_id)
            }
        for turn in dialog.turns:
            if not turn.flagged:
                assert set(turn.knowledge_refs) <= heard[turn.speaker]
            for listener in dialog.participants:
                if listener != turn.speaker and not turn.flagged:
                    heard[listener] |= set(turn.knowledge_refs)


def _ancestors(run, tp_id):
    from timepoint.world.causal import ancestors

    return set(ancestors(run.timepoints, tp_id))


def test_validators_catch_planted_leaks(settings):
    model = OfflineModel(seed=5, leak_rate=0.5)
    run = tp.run(JEFFERSON, model=model, settings=settings)
    planted = len(model.planted_leaks)
    assert planted >= 3
    caught = [
        v for v in run.record.validation if v.validator == "information_conservation" and not v.ok
    ]
    assert len(caught) >= 0.95 * planted
    ledger = {m.mechanism: m.counts for m in run.record.mechanisms}
    assert ledger["M4"]["violations"] == len(caught)


def test_told_exposures_and_provenance_chain(jefferson_run):
    told = [e for e in jefferson_run.record.exposures if e.kind is ExposureKind.TOLD]
    assert told
    event = told[0]
    chain = jefferson_run.provenance(event.entity_id, event.fact_id)
    assert chain[-1].entity_id == event.entity_id
    assert chain[0].kind in (ExposureKind.INITIAL, ExposureKind.EXPERIENCED, ExposureKind.WITNESSED)
    assert chain[1].source == chain[0].entity_id
    first_tp = jefferson_run.record.timepoints[0].id
    known = {e.fact_id for e in jefferson_run.knowledge_at(event.entity_id, first_tp)}
    assert event.fact_id in known or event.timepoint_id != first_tp


def test_load_run_reads_back_the_same_record(jefferson_run, settings):
    loaded = tp.load_run(jefferson_run.run_id[:12], settings=settings)
    assert loaded.record.run_id == jefferson_run.run_id
    assert loaded.record.exposures == jefferson_run.record.exposures


def test_mechanism_ledger_lists_only_mechanisms_with_effects(jefferson_run):
    ledger = {m.mechanism: m for m in jefferson_run.record.mechanisms}
    assert {"M1", "M3", "M7", "M11", "M18"} <= set(ledger)
    assert all(any(v for v in m.counts.values()) for m in ledger.values())
    assert jefferson_run.record.model_selection


def test_budget_exceeded_mid_run_is_stored_as_failed(settings):
    with pytest.raises(RunFailed) as info:
        tp.run(JEFFERSON, settings=settings, overrides={"budget.max_tokens": 4000})
    failed = info.value.run
    assert failed.record.status == "failed"
    assert failed.record.failed_step in {"timepoints", "dialog", "entities"}
    assert "budget" in (failed.record.error or "").lower()
    assert failed.record.timepoints, "what was produced before the failure is kept"
    stored = tp.load_run(failed.run_id, settings=settings)
    assert stored.record.status == "failed"


def test_fidelity_template_decides_who_the_model_populates(settings):
    from .conftest import SCENARIOS

    convention = SCENARIOS / "showcase" / "constitutional_convention.yaml"
    few = {"timepoints.count": 1}
    balanced = tp.run(convention, settings=settings, overrides=few)
    maximum = tp.run(
        convention, settings=settings, overrides={**few, "fidelity.template": "maximum"}
    )

    def populated(run):
        return run.record.usage.by_action["entity_population"].calls

    assert populated(maximum) > populated(balanced) > 0
    assert populated(maximum) == sum(
        1 for e in maximum.record.entities if e.profile_source == "generated"
    )
