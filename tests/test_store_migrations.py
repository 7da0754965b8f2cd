"""Alembic migrations of the run store: stores from before Alembic, older revisions, newer ones,
concurrent openers, and ``timepoint db``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.test_store_support import PostgresCluster, make_record, postgres_unavailable
from timepoint.cli import main
from timepoint.errors import StoreError
from timepoint.store import SCHEMA_VERSION, open_store
from timepoint.store.location import connect
from timepoint.store.migrations import HEAD, config
from timepoint.store.schema import metadata_at

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ALL_VERSIONS = list(range(1, SCHEMA_VERSION + 1))


def _reads(store) -> dict:
    """What ``tests/fixtures/store_v2.json`` holds, read from ``store``."""
    runs = store.list_runs()
    out = {
        "runs": [r.model_dump(mode="json") for r in runs],
        "records": {r.run_id: store.load_run(r.run_id).model_dump(mode="json") for r in runs},
        "calls": {
            r.run_id: [c.model_dump(mode="json") for c in store.calls(r.run_id)] for r in runs
        },
        "batches": store.batches(),
        "jobs": store.jobs("b1"),
        "attempts": store.attempts("b1"),
        "spend": store.batch_spend("b1"),
        "questions": store.questions(),
        "forecasts": store.forecasts(),
        "entities": store.rows("entities"),
        "dialogs": store.rows("dialogs"),
    }
    return json.loads(json.dumps(out, default=lambda v: v.isoformat(), sort_keys=True))


def _bookkeeping(store) -> tuple[list[str], list[int]]:
    with store._guard("test") as db:
        revisions = [r[0] for r in db.query("SELECT version_num FROM alembic_version")[1]]
        versions = [r[0] for r in db.query("SELECT version FROM schema_version ORDER BY 1")[1]]
    return revisions, versions


def test_a_store_written_before_alembic_reads_back_the_same(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(FIXTURES / "store_v2.sqlite", path)
    expected = json.loads((FIXTURES / "store_v2.json").read_text(encoding="utf-8"))

    with open_store(path) as store:
        assert store.version == SCHEMA_VERSION
        assert _bookkeeping(store) == ([HEAD], ALL_VERSIONS)
        assert _reads(store) == expected
        assert [r.run_id for r in store.list_runs(scenario="mars_mission")] == [
            "20250302-090000-bbbb"
        ]
        store.save_run(make_record("20250310-120000-new1"), [])
        assert store.claim_batch("b1", "driver-b", host="h", pid=3, lease_s=60) is None
        attempt, _ = store.claim_job("b1", "j2", "driver-b", spec={}, lease_s=60, host="h", pid=4)
        assert attempt == 1

    with open_store(path) as again:
        assert len(again.list_runs()) == 3
        assert _bookkeeping(again) == ([HEAD], ALL_VERSIONS)


def _version_1_store(url: str, *, before_alembic: bool) -> None:
    """A store at schema version 1 with a batch and a job that spent something."""
    engine, _, _ = connect(url)
    tables = metadata_at(1).tables
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    with engine.begin() as connection:
        command.upgrade(config(connection), "0001")
        connection.execute(
            sa.insert(tables["batches"]).values(
                batch_id="old", spec_json={"n": 1}, status="running", created=now, updated=now
            )
        )
        connection.execute(
            sa.insert(tables["batch_jobs"]).values(
                batch_id="old", job_id="j", status="completed", cost_usd=0.5, tokens=70
            )
        )
        if before_alembic:
            connection.execute(sa.text("DROP TABLE alembic_version"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    """A URL of a database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if request.param == "sqlite":
        yield str(tmp_path / "v1.db")
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    cluster = PostgresCluster().start()
    try:
        yield cluster.new_database()
    finally:
        cluster.stop()


@pytest.mark.parametrize("before_alembic", [False, True], ids=["revision-0001", "schema-v1"])
def test_a_version_1_store_is_upgraded_when_opened(empty_url, before_alembic):
    _version_1_store(empty_url, before_alembic=before_alembic)

    with open_store(empty_url) as store:
        assert store.version == SCHEMA_VERSION
        assert _bookkeeping(store) == ([HEAD], ALL_VERSIONS)
        assert store.batch_spend("old") == (0.5, 70)
        assert store.jobs("old")[0]["attempt"] is None
        assert store.claim_batch("old", "driver", host="h", pid=1, lease_s=60) is None
        assert store.claim_job("old", "k", "driver", spec={}, lease_s=60, host="h", pid=2)[0] == 1
        assert [a["job_id"] for a in store.attempts("old")] == ["k"]


def test_a_newer_revision_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "t.db"
    with open_store(path) as store, store._guard("test") as db, db.write():
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(
        StoreError, match=r"schema version 99 \(revision 0099\) .* upgrade timepoint"
    ):
        open_store(path)


_OPENER = textwrap.dedent(
    """
    import sys
    from timepoint.store import open_store

    with open_store(sys.argv[1]) as store:
        print(store.version, len(store.jobs("old")))
    """
)


def test_several_processes_open_an_old_store_at_once(tmp_path):
    path = tmp_path / "old.db"
    _version_1_store(str(path), before_alembic=True)
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [o.communicate(timeout=120)[0] for o in openers]
    assert [o.returncode for o in openers] == [0, 0, 0, 0]
    assert outputs == [f"{SCHEMA_VERSION} 1\n"] * 4
    with open_store(path) as store:
        assert _bookkeeping(store) == ([HEAD], ALL_VERSIONS)


def test_db_command_shows_and_upgrades_the_schema(tmp_path, monkeypatch, capsys):
    home = tmp_path / "runs"
    home.mkdir()
    _version_1_store(str(home / "timepoint.db"), before_alembic=True)
    monkeypatch.setenv("TIMEPOINT_HOME", str(home))
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)

    assert main(["db", "current"]) == 0
    assert "schema version 1 (revision none); newest is schema version 6 (revision 0006)" in (
        capsys.readouterr().out
    )
    assert main(["db", "upgrade"]) == 0
    assert "upgraded from schema version 1 (revision none) to schema version 6 (revision 0006)" in (
        capsys.readouterr().out
    )
    assert main(["db", "upgrade"]) == 0
    assert "already at schema version 6 (revision 0006)" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert "schema version 6 (revision 0006); up to date" in capsys.readouterr().out


def test_db_command_needs_an_existing_store(tmp_path, capsys):
    assert main(["db", "current", "--url", str(tmp_path / "missing.db")]) == 2
    assert "no run store at" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()
