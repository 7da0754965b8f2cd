"""NONLINEAR: presentation order differs from causal order; knowledge still flows forward."""

from __future__ import annotations

from itertools import pairwise

import timepoint as tp
from timepoint.time.modes.nonlinear import later_knowledge_uses, presentation_order, transitions
from timepoint.world import Dialog, DialogTurn

from .conftest import SCENARIOS

FLASHBACK = SCENARIOS / "historical" / "compromise_dinner_flashback.yaml"
NONLINEAR = SCENARIOS / "base" / "nonlinear.yaml"


def test_presentation_order_repairs_and_defaults():
    assert presentation_order([2, 0, 1], [0.5, 0.6, 0.9]) == ([2, 0, 1], [])
    order, notes = presentation_order([3, 0, 1, 2], [0.5, 0.6, 0.9])
    assert order == [2, 0, 1]  # 3 is dropped, and a causal order falls back to in medias res
    assert any("outside" in n for n in notes) and "in medias res" in notes[-1]
    order, notes = presentation_order([], [0.4, 0.9, 0.6])
    assert order == [1, 0, 2] and "in medias res" in notes[-1]
    assert transitions([2, 0, 1]) == ["flash-forward", "flashback", "continuation"]


def test_flashback_run_presents_out_of_causal_order(settings):
    run = tp.run(FLASHBACK, settings=settings)
    record = run.record
    assert record.status == "completed"
    main = record.main_timeline.timepoint_ids
    positions = [run.timepoints[i].presentation_position for i in main]
    assert sorted(positions) == list(range(len(main)))
    assert positions != list(range(len(main)))
    told = [p["timepoint"] for p in record.extras["presentation"]]
    assert told == [main[2], main[0], main[1]]
    # causal order is untouched: parents point backwards, time increases along the timeline
    for parent, child in pairwise(main):
        assert run.timepoints[child].causal_parent == parent
        assert run.timepoints[child].timestamp > run.timepoints[parent].timestamp
    check = next(v for v in record.validation if v.validator == "nonlinear_knowledge_order")
    assert check.ok, check.message
    ledger = {m.mechanism: m.counts for m in record.mechanisms}
    assert ledger["M17"]["flashbacks"] == 1 and ledger["M17"]["knowledge-order checks"] > 0


def test_validation_catches_knowledge_from_a_causally_later_timepoint(settings):
    record = tp.run(NONLINEAR, settings=settings).record
    timepoints = {t.id: t for t in record.timepoints}
    checks, problems = later_knowledge_uses(timepoints, record.exposures, record.dialogs)
    assert checks > 0 and problems == []
    first, last = record.main_timeline.timepoint_ids[0], record.main_timeline.timepoint_ids[-1]
    later_fact = next(e.fact_id for e in record.exposures if e.source == f"timepoint:{last}")
    speaker = timepoints[first].entities_present[0]
    leak = Dialog(
        id="dlg_leak",
        timepoint_id=first,
        participants=[speaker],
        turns=[
            DialogTurn(speaker=speaker, text="I know how this ends.", knowledge_refs=[later_fact])
        ],
    )
    _, problems = later_knowledge_uses(timepoints, record.exposures, [*record.dialogs, leak])
    assert any(p.startswith(f"{first}:") and later_fact in p for p in problems)
