"""Opening stores: locations and URLs, SQLite settings, migrations, several writing processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_store_support import make_record
from timepoint.errors import StoreError
from timepoint.store import SCHEMA_VERSION, TABLES, open_store, store_target

ROOT = Path(__file__).resolve().parent.parent


def test_default_store_is_sqlite_under_home(tmp_path):
    with open_store(home=tmp_path / "runs") as store:
        store.save_run(make_record(), [])
        assert store.dialect == "sqlite"
    assert (tmp_path / "runs" / "timepoint.db").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, Path("runs/timepoint.db")),
        ("sqlite:///data/x.db", Path("data/x.db")),
        ("sqlite:////abs/x.db", Path("/abs/x.db")),
        ("sqlite:///:memory:", ":memory:"),
        ("plain/file.db", Path("plain/file.db")),
        ("postgresql://u:pw@db:5432/tp", "postgresql://u:pw@db:5432/tp"),
        ("postgres://db/tp", "postgresql://db/tp"),
        ("postgresql+psycopg://db/tp", "postgresql://db/tp"),
    ],
)
def test_store_target_reads_urls_and_paths(url, expected):
    assert store_target(url) == expected


def test_a_directory_path_means_the_database_inside_it(tmp_path):
    assert store_target(tmp_path) == tmp_path / "timepoint.db"


def test_unknown_scheme_is_refused_without_showing_the_password():
    with pytest.raises(StoreError, match=r"'mysql://root:\*\*\*@db/x' has an unknown scheme"):
        open_store("mysql://root:hunter2@db/x")


def test_unreachable_postgres_is_a_store_error_without_the_password():
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://tp:hunter2@127.0.0.1:1/tp?connect_timeout=2")
    message = str(caught.value)
    assert "cannot connect to PostgreSQL at postgresql://tp:***@127.0.0.1:1/tp" in message
    assert "hunter2" not in message


def test_missing_store_with_create_false_is_an_error(tmp_path):
    with pytest.raises(StoreError, match=r"no run store at .*timepoint\.db; run a scenario first"):
        open_store(home=tmp_path, create=False)
    assert not (tmp_path / "timepoint.db").exists()


def test_sqlite_uses_wal_and_a_busy_timeout(tmp_path):
    with open_store(tmp_path / "t.db") as store, store._guard("test") as db:
        assert db.query("PRAGMA journal_mode")[1][0][0] == "wal"
        assert db.query("PRAGMA busy_timeout")[1][0][0] == 30_000
        assert db.query("PRAGMA foreign_keys")[1][0][0] == 1


def test_memory_store_works(tmp_path):
    with open_store("sqlite:///:memory:") as store:
        store.save_run(make_record(), [])
        assert store.load_run("2025").title.startswith("The 1790")


def test_reopening_does_not_migrate_again(tmp_path):
    open_store(tmp_path / "t.db").close()
    with open_store(tmp_path / "t.db") as store, store._guard("test") as db:
        assert db.query("SELECT COUNT(*) FROM schema_version")[1][0][0] == SCHEMA_VERSION
        assert store.version == SCHEMA_VERSION


def test_a_newer_schema_is_refused_with_the_fix(tmp_path):
    with open_store(tmp_path / "t.db") as store, store._guard("test") as db, db.write():
        db.execute("INSERT INTO schema_version (version) VALUES (99)")
    with pytest.raises(StoreError, match=r"schema version 99 .* upgrade timepoint"):
        open_store(tmp_path / "t.db")


def test_closed_store_refuses_work(tmp_path):
    store = open_store(tmp_path / "t.db")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="is closed; open it again"):
        store.list_runs()


_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from tests.test_store_support import make_record
    from timepoint.store import open_store

    worker = int(sys.argv[2])
    with open_store(sys.argv[1]) as store:
        for i in range(8):
            started = datetime(2025, 3, 1, tzinfo=UTC) + timedelta(minutes=10 * worker + i)
            store.save_run(make_record(f"p{worker}-{i}", started=started), [])
    """
)


def test_several_processes_write_one_sqlite_store(tmp_path):
    path = tmp_path / "shared.db"
    open_store(path).close()
    workers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(n)], cwd=ROOT)
        for n in range(3)
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0]
    with open_store(path) as store:
        assert len(store.list_runs()) == 24
        assert len(store.table_frame("exposures")) == 24 * 4


def test_importing_the_store_and_its_commands_stays_light():
    code = (
        "import sys, timepoint.store, timepoint.commands.runs, timepoint.commands.export; "
        "print(sorted(m for m in ('pandas', 'psycopg', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_docs_describe_every_table_and_column():
    doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    for table in TABLES:
        assert f"## `{table.name}`" in doc, table.name
        section = doc.split(f"## `{table.name}`", 1)[1].split("\n## ", 1)[0]
        for column in table.columns:
            assert f"| `{column.name}` |" in section, f"{table.name}.{column.name}"
    assert "## `schema_version`" in doc


def test_a_store_pickles_as_its_url_and_reopens(tmp_path, monkeypatch):
    import pickle

    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///rel/t.db") as store:
        store.save_run(make_record(), [])
        assert store.url == f"sqlite:///{tmp_path / 'rel' / 't.db'}"
        copy = pickle.loads(pickle.dumps(store))
    with copy:
        assert copy.load_run("2025").run_id == "20250301-120000-ab12"


def test_docs_give_every_column_its_type_and_meaning():
    import re

    from timepoint.store.schema import VERSIONS

    doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    for table in (*TABLES, VERSIONS):
        section = doc.split(f"## `{table.name}`", 1)[1].split("\n## ", 1)[0]
        for column in table.columns:
            row = re.search(rf"^\| `{column.name}` \| ([^|]*) \| (.*) \|$", section, re.M)
            assert row is not None, f"{table.name}.{column.name}"
            assert row.group(1) == column.type + (", key" if column.key else ""), column.name
            assert row.group(2).startswith(column.doc), f"{table.name}.{column.name}"
