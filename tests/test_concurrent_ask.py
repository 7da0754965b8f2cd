"""Questions asked of one run at the same time take turns and lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import timepoint as tp
from timepoint.settings import Settings

from .conftest import JEFFERSON


def test_six_parallel_questions_each_keep_their_answer_and_entity(tmp_path: Path):
    settings = Settings(home=tmp_path / "runs")
    run_id = tp.run(JEFFERSON, settings=settings).run_id

    def ask(n: int) -> str:
        own = tp.load_run(run_id, settings=settings)  # each asker holds its own copy
        try:
            return own.ask(f"What did attendee_{n} see at the second timepoint?").entity_id or ""
        finally:
            own.store.close()

    with ThreadPoolExecutor(6) as pool:
        asked = sorted(pool.map(ask, range(1, 7)))
    assert asked == [f"attendee_{n}" for n in range(1, 7)]
    stored = tp.load_run(run_id, settings=settings)
    try:
        record = stored.record
    finally:
        stored.store.close()
    assert len(record.answers) == 6
    assert {f"attendee_{n}" for n in range(1, 7)} <= {e.id for e in record.entities}
    on_disk = (settings.home / run_id / "run.json").read_text()
    assert all(f"attendee_{n}" in on_disk for n in range(1, 7))
    assert not list((settings.home / run_id).glob(".*.partial")), "no staging file left behind"
