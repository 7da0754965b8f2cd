"""PORTAL: backward search from an endpoint, scored candidates, forward checks, stored paths."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest

import timepoint as tp
from timepoint.llm.base import Completion, Request
from timepoint.llm.offline import OfflineModel
from timepoint.scenario.loader import load_scenario
from timepoint.scenario.schema import PortalWeights
from timepoint.time.modes.portal import portal_times
from timepoint.time.modes.portal_drafts import ForwardJudgement, StateCandidate
from timepoint.time.modes.portal_scoring import capability, flow_problems, normalized_weights
from timepoint.time.paths import chronology_problems

from .conftest import SCENARIOS

MARS = SCENARIOS / "showcase" / "mars_mission_portal.yaml"
PLACEHOLDER = re.compile(r"Antecedent \d|Candidate \d|lorem ipsum|placeholder", re.I)


@dataclass
class Probe(OfflineModel):
    """The offline model, noting each request and how many calls were in flight at once."""

    requests: list[Request] = field(default_factory=list)
    inflight: int = 0
    peak: int = 0

    def complete(self, request: Request) -> Completion:
        with self._lock:
            self.requests.append(request)
            self.inflight += 1
            self.peak = max(self.peak, self.inflight)
        try:
            return super().complete(request)
        finally:
            with self._lock:
                self.inflight -= 1


def _state(description: str, events: list[str], **extra: Any) -> StateCandidate:
    return StateCandidate(description=description, key_events=events, **extra)


def test_step_times_run_from_origin_to_portal():
    scenario = load_scenario(MARS)
    times = portal_times(scenario, scenario.temporal.portal)
    assert [t.year for t in times] == [2026, 2027, 2028, 2029, 2030, 2031]
    assert times == sorted(times) and times[0] == scenario.timepoints.start


def test_weights_are_normalized_and_capability_checks_entities():
    weights = normalized_weights(
        PortalWeights(plausibility=3, precedent=2, necessity=3, capability=2)
    )
    assert weights == pytest.approx(
        {"plausibility": 0.3, "precedent": 0.2, "necessity": 0.3, "capability": 0.2}
    )
    assert sum(
        normalized_weights(
            PortalWeights(plausibility=0, precedent=0, necessity=0, capability=0)
        ).values()
    ) == pytest.approx(1)
    people = {"okafor": ("primary", 1.0), "webb": ("secondary", 0.2)}
    known = _state("x", ["y"], entity_changes={"okafor": "decides"})
    weak = _state("x", ["y"], entity_changes={"webb": "decides"})
    unknown = _state("x", ["y"], entity_changes={"nobody": "decides"})
    assert capability(known, people) > capability(weak, people) > capability(unknown, people)


def test_forward_checks_catch_anachronisms_and_foreknowledge():
    later = _state(
        "In 2031 the crew loses contact during orbital insertion.",
        ["Ares III loses contact during orbital insertion"],
    )
    leaky = _state(
        "In 2027 everyone knows the 2031 loss of contact during orbital insertion.",
        ["A review is held"],
    )
    knowing = _state("The Ares III loses contact during orbital insertion, they say.", ["A memo"])
    clean = _state("In 2027 a review trims the medical supplies.", ["A review is held"])
    assert any("2031" in p for p in flow_problems(leaky, 2027, [(later, 2031)], "a→b"))
    assert any("already knows" in p for p in flow_problems(knowing, 2027, [(later, 2031)], "a→b"))
    assert flow_problems(clean, 2027, [(later, 2031)], "a→b") == []


def test_forward_judgement_rates_how_far_the_simulation_gets():
    expected = {"description": "The generator fails in orbit", "key_events": ["Oxygen fails"]}
    near = ForwardJudgement.offline_answer(
        {"simulated": ["The oxygen generator fails in orbit"], "expected": expected},
        __import__("random").Random(0),
    )
    far = ForwardJudgement.offline_answer(
        {"simulated": ["The crew celebrates a birthday"], "expected": expected},
        __import__("random").Random(0),
    )
    assert near["plausibility"] > far["plausibility"]


@pytest.fixture(scope="module")
def mars_run(tmp_path_factory):
    from timepoint.settings import Settings

    home = tmp_path_factory.mktemp("portal") / "runs"
    return tp.run(MARS, settings=Settings(home=home))


def test_portal_paths_are_stored_in_chronological_order(mars_run):
    record = mars_run.record
    cfg = mars_run.scenario.temporal.portal
    assert record.status == "completed"
    timepoints = {t.id: t for t in record.timepoints}
    assert chronology_problems(record.timelines, timepoints) == []
    assert len(record.paths) == cfg.path_count
    for timeline in record.timelines:
        chain = [timepoints[i] for i in timeline.timepoint_ids]
        assert len(chain) == cfg.backward_steps + 1
        assert chain[0].causal_parent is None  # the origin comes first
        assert chain[0].timestamp.year == cfg.origin_year
        assert chain[-1].timestamp.year == cfg.portal_year
        assert chain[-1].event == " ".join(cfg.description.split())  # the portal comes last
        for parent, child in pairwise(chain):
            assert child.causal_parent == parent.id and child.timestamp > parent.timestamp
        assert timeline.score is not None
    main = record.main_timeline
    assert main.timepoint_ids[0] == "tp_000"
    assert main.score == max(t.score for t in record.timelines)


def test_portal_candidates_are_real_and_scored_by_components(mars_run):
    record = mars_run.record
    names = [e.name for e in record.entities]
    text = " ".join(t.event for t in record.timepoints)
    assert not PLACEHOLDER.search(text)
    for timeline in record.timelines:
        states = [mars_run.timepoints[i] for i in timeline.timepoint_ids[:-1]]
        for state in states:  # each antecedent names real entities and its own year
            said = " ".join([state.event, *state.key_facts])
            assert any(n in said for n in names), said
            assert str(state.timestamp.year) in state.event
    for info in record.paths:
        assert {"plausibility", "precedent", "necessity", "capability", "coherence"} <= set(
            info.components
        )
        assert set(info.pivots) <= set(mars_run.timelines[info.timeline_id].timepoint_ids)
    scores = [p.score for p in sorted(record.paths, key=lambda p: p.rank)]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    checks = [v for v in record.validation if v.validator == "portal_forward_coherence"]
    assert len(checks) == len(record.paths)
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M17"]["antecedents generated"] == ledger["M17"]["candidates scored"]
    assert ledger["M17"]["states pruned"] > 0 and ledger["M17"]["coherence checks"] > 0
    # the main timeline got the per-timepoint mechanisms
    assert {d.timepoint_id for d in record.dialogs} & set(record.main_timeline.timepoint_ids)
    paths = mars_run.paths()
    assert paths[0].timeline_id == "main" and paths[0].score == scores[0]


def test_oscillating_exploration_with_simulation_judging(settings):
    probe = Probe(seed=0)
    overrides = {
        "temporal.portal.exploration": "oscillating",
        "temporal.portal.backward_steps": 4,
        "temporal.portal.simulation_judging": True,
        "temporal.portal.judge_model": "llama-3.1-70b",
    }
    run = tp.run(MARS, model=probe, settings=settings, overrides=overrides)
    record = run.record
    assert record.extras["portal"]["exploration"] == "oscillating"
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M17"]["consequents generated"] > 0  # the origin side moved forward
    assert ledger["M17"]["antecedents generated"] > 0
    judged = ledger["M17"]["simulation judgements"]
    assert judged == ledger["M17"]["candidates scored"] > 0
    judges = [r for r in probe.requests if r.output_schema is ForwardJudgement]
    assert len(judges) == judged and {r.model for r in judges} == {"llama-3.1-70b"}
    timepoints = {t.id: t for t in record.timepoints}
    assert chronology_problems(record.timelines, timepoints) == []


def test_backtracking_and_warnings_below_the_threshold(settings):
    overrides = {
        "temporal.portal.coherence_threshold": 0.99,
        "temporal.portal.max_backtrack_depth": 1,
        "temporal.portal.backward_steps": 3,
    }
    record = tp.run(MARS, settings=settings, overrides=overrides).record
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M17"]["backtracks"] >= 1
    assert all(p["backtracks"] <= 1 for p in record.extras["portal"]["paths"])
    assert all(p.warning and "below the coherence threshold" in p.warning for p in record.paths)
    assert len(record.paths) == 3


def test_independent_portal_calls_run_concurrently_and_reproducibly(settings):
    def run_with(concurrency: int) -> tuple[Probe, Any]:
        probe = Probe(seed=0, latency_ms=15)
        overrides = {"models.max_concurrency": concurrency, "temporal.portal.backward_steps": 3}
        return probe, tp.run(MARS, model=probe, settings=settings, overrides=overrides).record

    parallel, record = run_with(4)
    serial, again = run_with(1)
    assert 1 < parallel.peak <= 4
    assert serial.peak == 1
    assert [t.event for t in record.timepoints] == [t.event for t in again.timepoints]
    assert record.paths == again.paths
