"""``timepoint runs`` and ``timepoint export`` through the real command line entry point."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime

import pytest

import timepoint as tp
from tests.test_store_support import make_calls, make_record
from timepoint.cli import main
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings
from timepoint.store import open_store


@pytest.fixture
def home(tmp_path, monkeypatch):
    """TIMEPOINT_HOME pointing at a store with three runs (one failed, one of another scenario)."""
    home = tmp_path / "runs"
    monkeypatch.setenv("TIMEPOINT_HOME", str(home))
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)
    with open_store(home=home) as store:
        store.save_run(make_record("20250301-120000-aaaa"), make_calls())
        store.save_run(
            make_record(
                "20250302-120000-bbbb",
                status="failed",
                started=datetime(2025, 3, 2, 12, tzinfo=UTC),
                cost=0.25,
            ),
            make_calls(2),
        )
        store.save_run(
            make_record(
                "20250303-120000-cccc",
                scenario_id="mars_mission",
                mode="portal",
                started=datetime(2025, 3, 3, 9, 30, tzinfo=UTC),
            ),
            [],
        )
    return home


def test_runs_prints_a_compact_table_newest_first(home, capsys):
    assert main(["runs"]) == 0
    lines = capsys.readouterr().out.splitlines()

    assert lines[0].split() == ["run_id", "scenario", "mode", "status", "seed", "started",
                                "duration", "calls", "tokens", "cost", "provider"]  # fmt: skip
    assert [line.split()[0] for line in lines[1:]] == [
        "20250303-120000-cccc",
        "20250302-120000-bbbb",
        "20250301-120000-aaaa",
    ]
    assert lines[1].split()[1:] == ["mars_mission", "portal", "completed", "7", "2025-03-03",
                                    "09:30", "4.5s", "3", "1593", "$0.0030", "offline"]  # fmt: skip


def _sweep(home):
    """Record a batch whose two jobs made the runs aaaa and cccc with different overrides."""
    with open_store(home=home) as store:
        store.create_batch("batch-sweep", {"jobs": 2})
        for job_id, run_id, seed, temperature in (
            ("job-a", "20250301-120000-aaaa", 7, 0.2),
            ("job-c", "20250303-120000-cccc", 7, 0.9),
        ):
            overrides = {"models.temperature": temperature, "timepoints.count": 2}
            spec = {"seed": seed, "overrides": overrides, "replicate": 0}
            store.upsert_job("batch-sweep", job_id, spec=spec, run_id=run_id, status="completed")


def test_runs_shows_the_seed_and_swept_parameters_as_columns(home, capsys):
    _sweep(home)
    assert main(["runs"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    names = header.split()
    assert names[4:7] == ["seed", "models.temperature", "timepoints.count"]
    cells = {row.split()[0]: row for row in rows}
    assert cells["20250303-120000-cccc"].split()[4:7] == ["7", "0.9", "2"]
    assert cells["20250301-120000-aaaa"].split()[4:7] == ["7", "0.2", "2"]
    unswept = cells["20250302-120000-bbbb"]
    at = header.index("models.temperature")
    assert unswept[at : at + len("models.temperature")].strip() == "", "no job, no parameters"

    assert main(["runs", "--json"]) == 0
    listed = {r["run_id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert listed["20250301-120000-aaaa"]["parameters"] == {
        "models.temperature": 0.2,
        "timepoints.count": 2,
    }
    assert listed["20250302-120000-bbbb"]["parameters"] == {}
    assert listed["20250302-120000-bbbb"]["seed"] == 7


def test_runs_filters_and_json_lines(home, capsys):
    assert main(["runs", "--status", "failed", "--json"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    run = json.loads(line)
    assert (run["run_id"], run["cost_usd"], run["llm_calls"]) == ("20250302-120000-bbbb", 0.25, 3)

    assert main(["runs", "--since", "2025-03-02", "--scenario", "jefferson_dinner"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["20250302-120000-bbbb"]

    assert main(["runs", "--text", "MARS", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_runs_limit_says_when_more_match(home, capsys):
    assert main(["runs", "--limit", "1"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert "raise --limit above 1" in captured.err


def test_runs_bad_date_is_a_user_error(home, capsys):
    assert main(["runs", "--since", "yesterday"]) == 2
    assert "since: 'yesterday' is not a date" in capsys.readouterr().err


def test_runs_without_a_store_says_so_and_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIMEPOINT_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)
    assert main(["runs"]) == 0
    assert "no runs yet" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists()


def test_db_url_wins_over_home(home, tmp_path, monkeypatch, capsys):
    other = tmp_path / "other.db"
    with open_store(other) as store:
        store.save_run(make_record("20250401-000000-zzzz"), [])
    monkeypatch.setenv("TIMEPOINT_DB_URL", f"sqlite:///{other}")
    assert main(["runs", "--json"]) == 0
    assert [json.loads(x)["run_id"] for x in capsys.readouterr().out.splitlines()] == [
        "20250401-000000-zzzz"
    ]


def test_export_writes_anonymized_rows_of_one_run(home, tmp_path, capsys):
    out = tmp_path / "dialogs.jsonl"
    code = main(["export", "dialogs", "-o", str(out), "--anonymize", "--drop-text",
                 "--run", "20250301"])  # fmt: skip

    assert code == 0
    assert f"wrote 2 rows of dialogs to {out}" in capsys.readouterr().err
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert {r["run_id"] for r in rows} == {"20250301-120000-aaaa"}
    assert all("text" not in r and r["speaker"].startswith("entity_") for r in rows)


def test_export_of_an_unknown_table_or_run_is_a_user_error(home, tmp_path, capsys):
    assert main(["export", "dialog", "-o", str(tmp_path / "x.jsonl")]) == 2
    assert "no table 'dialog'; did you mean 'dialogs'?" in capsys.readouterr().err
    assert main(["export", "dialogs", "-o", str(tmp_path / "x.jsonl"), "--run", "1999"]) == 2
    assert "no run '1999'" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()


def test_export_needs_an_existing_store(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIMEPOINT_HOME", str(tmp_path / "nowhere"))
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)
    assert main(["export", "runs", "-o", str(tmp_path / "runs.jsonl")]) == 2
    assert "no run store at" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow is installed")
def test_export_parquet_without_pyarrow_tells_the_fix(home, tmp_path, capsys):
    assert main(["export", "runs", "-o", str(tmp_path / "r.parquet")]) == 2
    assert "pip install pyarrow" in capsys.readouterr().err


def test_a_real_offline_run_is_listed_and_exported(tmp_path, monkeypatch, capsys):
    home = tmp_path / "runs"
    monkeypatch.setenv("TIMEPOINT_HOME", str(home))
    monkeypatch.delenv("TIMEPOINT_DB_URL", raising=False)
    scenario = Scenario(
        id="dinner_smoke", title="A dinner", description="Three guests argue over dinner."
    )
    run = tp.run(scenario, settings=Settings(home=home))

    with open_store(home=home) as store:
        assert store.load_run(run.run_id[:12]) == run.record
        assert len(store.calls(run.run_id)) == run.record.usage.calls
    assert main(["runs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["run_id"], listed["scenario_id"]) == (run.run_id, "dinner_smoke")
    out = tmp_path / "exposures.jsonl"
    assert main(["export", "exposures", "-o", str(out), "--anonymize"]) == 0
    text = out.read_text()
    assert len(text.splitlines()) == len(run.record.exposures)
    for entity in run.record.entities:
        assert entity.name not in text
