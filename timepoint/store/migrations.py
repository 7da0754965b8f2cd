"""Numbered schema migrations, recorded in the ``schema_version`` table.

Migration *n* is derived from :mod:`timepoint.store.schema`: it creates the tables introduced in
version *n* and adds the columns introduced in version *n* to older tables. Each migration runs
in its own write transaction and records its number, so concurrent openers of one store (threads
or processes) apply it exactly once: SQLite serializes them with ``BEGIN IMMEDIATE``, PostgreSQL
with a transaction-scoped advisory lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from timepoint.errors import StoreError
from timepoint.store.dialect import Backend
from timepoint.store.schema import COLUMN_TYPES, SCHEMA_VERSION, TABLES, Column, Table

VERSION_TABLE = "schema_version"
_ADVISORY_LOCK = 7_261_890_331

#: What each migration does, for the version table and docs/schema.md.
DESCRIPTIONS: dict[int, str] = {
    1: "initial schema: runs and their child tables, batches, batch_jobs, questions, forecasts",
    2: "batch leases: lease columns on batches and batch_jobs, new table batch_attempts",
}


def _column_sql(backend: Backend, table: Table, column: Column) -> str:
    sql = f"{column.name} {COLUMN_TYPES[column.type][backend.name]}"
    if column.key:
        sql += " NOT NULL"
    if column.name == "run_id" and table.child_of_run:
        sql += " REFERENCES runs(run_id) ON DELETE CASCADE"
    if column.name == "batch_id" and table.name in ("batch_jobs", "batch_attempts"):
        sql += " REFERENCES batches(batch_id) ON DELETE CASCADE"
    return sql


def statements(backend: Backend, version: int, tables: Sequence[Table] = TABLES) -> list[str]:
    """The DDL of migration ``version`` for ``backend``'s dialect."""
    out: list[str] = []
    for table in tables:
        if table.since == version:
            columns = [_column_sql(backend, table, c) for c in table.columns if c.since <= version]
            columns.append(f"PRIMARY KEY ({', '.join(table.key)})")
            out.append(
                f"CREATE TABLE IF NOT EXISTS {table.name} (\n  " + ",\n  ".join(columns) + "\n)"
            )
            for index in table.indexes:
                name = f"ix_{table.name}_{'_'.join(index)}"
                out.append(
                    f"CREATE INDEX IF NOT EXISTS {name} ON {table.name} ({', '.join(index)})"
                )
        elif table.since < version:
            for column in table.columns:
                if column.since == version:
                    out.append(
                        f"ALTER TABLE {table.name} ADD COLUMN {_column_sql(backend, table, column)}"
                    )
    return out


def current_version(backend: Backend) -> int:
    """The highest applied migration, 0 for an empty database."""
    _, rows = backend.query(f"SELECT MAX(version) FROM {VERSION_TABLE}")
    return int(rows[0][0] or 0)


def _lock(backend: Backend) -> None:
    if backend.name == "postgresql":
        backend.execute(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK})")


def migrate(backend: Backend) -> int:
    """Bring the store up to :data:`SCHEMA_VERSION`; returns the version it is at afterwards.

    Raises:
        StoreError: the store was written by a newer Timepoint with a later schema.
    """
    with backend.write():
        _lock(backend)
        backend.execute(
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL PRIMARY KEY, "
            f"applied {COLUMN_TYPES['time'][backend.name]}, description TEXT)"
        )
    version = current_version(backend)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store has schema version {version} but this Timepoint knows versions up to "
            f"{SCHEMA_VERSION}; upgrade timepoint or open another store"
        )
    while version < SCHEMA_VERSION:
        with backend.write():
            _lock(backend)
            version = current_version(backend)
            if version >= SCHEMA_VERSION:
                break
            target = version + 1
            for statement in statements(backend, target):
                backend.execute(statement)
            backend.execute(
                f"INSERT INTO {VERSION_TABLE} (version, applied, description) VALUES (?, ?, ?)",
                (
                    target,
                    backend.encode("time", datetime.now(UTC)),
                    DESCRIPTIONS.get(target, ""),
                ),
            )
            version = target
    return version
