from datetime import UTC, datetime, timedelta

from timepoint.world import Timepoint
from timepoint.world.causal import ancestors, has_path, integrity_problems

T0 = datetime(1790, 6, 20, 17, tzinfo=UTC)


def chain(**parents):
    return {
        tp_id: Timepoint(
            id=tp_id, timestamp=T0 + timedelta(hours=i), event=tp_id, causal_parent=parent
        )
        for i, (tp_id, parent) in enumerate(parents.items())
    }


def test_paths_follow_causal_parents_only():
    tps = chain(a=None, b="a", c="b", d="a")
    assert ancestors(tps, "c") == ["b", "a"]
    assert has_path(tps, "a", "c") and has_path(tps, "c", "c")
    assert not has_path(tps, "d", "c") and not has_path(tps, "c", "a")


def test_integrity_reports_missing_parents_and_time_running_backwards():
    tps = chain(a=None, b="a", c="ghost")
    tps["a"] = tps["a"].model_copy(update={"timestamp": T0 + timedelta(days=1)})
    problems = integrity_problems(tps, forward=True)
    assert any("ghost" in p and p.startswith("c:") for p in problems)
    assert any(p.startswith("b:") and "precedes its parent" in p for p in problems)
    assert not any(p.startswith("b:") for p in integrity_problems(tps, forward=False))
