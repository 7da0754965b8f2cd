"""Exports: JSONL and Parquet, anonymization, dropped free text, atomic writes."""

from __future__ import annotations

import importlib.util
import json
import re

import pyarrow.parquet as pq
import pytest

from tests.test_store_support import NAMES, make_calls, make_record
from timepoint.errors import ConfigurationError, StoreError
from timepoint.store import Pseudonyms, export_jsonl, export_parquet, export_table, open_store
from timepoint.store.exports import _atomic

HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None
RUN_TABLES = [
    "runs", "entities", "timepoints", "timelines", "exposures", "dialogs", "relationships",
    "validations", "mechanism_ledger", "llm_calls",
]  # fmt: skip
#: Every way the test entities are named: ids, full names and the words of names.
IDENTIFYING = sorted(
    set(NAMES) | set(NAMES.values()) | {w for n in NAMES.values() for w in n.split()}
)


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "t.db") as opened:
        opened.save_run(make_record("20250301-120000-aaaa"), make_calls())
        opened.save_run(make_record("20250302-120000-bbbb", scenario_id="other"), make_calls(1))
        yield opened


def _read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_writes_one_object_per_row(store, tmp_path):
    out = tmp_path / "out" / "dialogs.jsonl"
    count = export_jsonl(store, "dialogs", out)

    rows = _read(out)
    assert count == len(rows) == 4
    assert rows[0]["speaker"] == "jefferson"
    assert rows[0]["knowledge_refs"] == ["f_capital"]
    assert rows[1]["text"].startswith("Then Virginia gains the Potomac")


def test_jsonl_of_some_runs_and_times_as_iso_text(store, tmp_path):
    out = tmp_path / "exposures.jsonl"
    export_jsonl(store, "exposures", out, run_ids=["20250302"])

    rows = _read(out)
    assert {r["run_id"] for r in rows} == {"20250302-120000-bbbb"}
    assert rows[0]["timestamp"] == "1790-06-20T18:00:00+00:00"


def test_runs_export_leaves_out_the_whole_record(store, tmp_path):
    export_jsonl(store, "runs", tmp_path / "runs.jsonl")
    rows = _read(tmp_path / "runs.jsonl")
    assert len(rows) == 2 and "record_json" not in rows[0]
    assert rows[0]["cost_usd"] == 0.003


@pytest.mark.parametrize("table", RUN_TABLES)
def test_anonymized_exports_name_no_one(store, tmp_path, table):
    out = tmp_path / f"{table}.jsonl"
    export_jsonl(store, table, out, anonymize=True)

    text = out.read_text(encoding="utf-8")
    for name in IDENTIFYING:
        assert re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", text, re.I) is None, (
            f"{name!r} survived in {table}"
        )


def test_pseudonyms_are_stable_across_tables_runs_and_exports(store, tmp_path):
    export_jsonl(store, "entities", tmp_path / "e.jsonl", anonymize=True)
    export_jsonl(store, "dialogs", tmp_path / "d.jsonl", anonymize=True)
    entities = _read(tmp_path / "e.jsonl")
    dialogs = _read(tmp_path / "d.jsonl")

    alias = Pseudonyms([]).of("jefferson")
    assert re.fullmatch(r"entity_[0-9a-f]{8}", alias)
    jefferson = [e for e in entities if e["entity_id"] == alias]
    assert len(jefferson) == 2 and {e["name"] for e in jefferson} == {alias}
    assert dialogs[0]["speaker"] == alias
    madison = Pseudonyms([]).of("madison")
    assert dialogs[0]["text"] == f"{madison}, {Pseudonyms([]).of('hamilton')} needs your votes; " \
        "the capital could move south."  # fmt: skip
    assert dialogs[0]["participants"][1] == madison


def test_exposure_sources_keep_non_entity_sources(store, tmp_path):
    export_jsonl(store, "exposures", tmp_path / "x.jsonl", anonymize=True, run_ids=["20250301"])
    sources = [r["source"] for r in _read(tmp_path / "x.jsonl")]
    assert sources == ["scenario"] * 3 + [Pseudonyms([]).of("jefferson")]


def test_salt_changes_every_pseudonym(store, tmp_path):
    export_jsonl(store, "entities", tmp_path / "a.jsonl", anonymize=True)
    export_jsonl(store, "entities", tmp_path / "b.jsonl", anonymize=True, salt="s3cret")
    plain = {r["entity_id"] for r in _read(tmp_path / "a.jsonl")}
    salted = {r["entity_id"] for r in _read(tmp_path / "b.jsonl")}
    assert len(plain) == len(salted) == 3 and not plain & salted


def test_drop_text_removes_free_text_columns(store, tmp_path):
    export_jsonl(store, "dialogs", tmp_path / "d.jsonl", drop_text=True)
    row = _read(tmp_path / "d.jsonl")[0]
    assert "text" not in row and "physical_influence" not in row
    assert row["speaker"] == "jefferson" and row["tone"] == "conciliatory"


def test_tables_without_runs_cannot_be_filtered_by_run(store, tmp_path):
    with pytest.raises(StoreError, match="table 'questions' has no run_id column"):
        export_jsonl(store, "questions", tmp_path / "q.jsonl", run_ids=["20250301"])
    with pytest.raises(StoreError, match="no table 'dialog'; did you mean 'dialogs'"):
        export_jsonl(store, "dialog", tmp_path / "q.jsonl")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "data.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), _atomic(target) as temp:
        temp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_export_leaves_no_temporary_files(store, tmp_path):
    out = tmp_path / "exports"
    export_table(store, "llm_calls", out / "calls.jsonl")
    assert [p.name for p in out.iterdir()] == ["calls.jsonl"]


@pytest.mark.skipif(HAS_PYARROW, reason="pyarrow is installed, so Parquet export works")
def test_parquet_without_pyarrow_says_how_to_install_it(store, tmp_path):
    with pytest.raises(ConfigurationError, match="pip install pyarrow"):
        export_parquet(store, "dialogs", tmp_path / "d.parquet")
    with pytest.raises(ConfigurationError, match="pip install pyarrow"):
        export_table(store, "dialogs", tmp_path / "d.parquet")
    assert not (tmp_path / "d.parquet").exists()


def test_parquet_round_trips_rows_with_types(store, tmp_path):
    # pyarrow is part of the analysis extra, which the test environment installs
    out = tmp_path / "exposures.parquet"
    count = export_table(store, "exposures", out, anonymize=True)

    table = pq.read_table(out)
    assert table.num_rows == count == 8
    assert str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("confidence").type) == "double"
    rows = table.to_pylist()
    assert rows[3]["source"] == Pseudonyms([]).of("jefferson")
    assert "Hamilton" not in json.dumps(rows, default=str)
