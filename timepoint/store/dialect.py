"""The two database dialects behind the store: SQLite (default) and PostgreSQL (psycopg 3).

A :class:`Backend` owns one DB-API connection and hides what differs: placeholders, write
transactions, how times and booleans travel, and which exceptions mean "the database failed".
SQL is written once with ``?`` placeholders and translated for PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from timepoint.errors import StoreError

#: Seconds a writer waits for another process's SQLite transaction before giving up.
BUSY_TIMEOUT_S = 30.0

# ``json.dumps`` with these options builds a new encoder on every call; a run stores one JSON
# value per row of several tables, so the encoder is built once.
_JSON = json.JSONEncoder(default=str, ensure_ascii=False)


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_time(value: str | date | datetime, what: str) -> datetime:
    """A date, datetime or ISO string as an aware UTC datetime (dates start at midnight)."""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return utc(datetime.fromisoformat(str(value).strip()))
    except ValueError:
        raise StoreError(
            f"{what}: {value!r} is not a date; use YYYY-MM-DD or an ISO datetime "
            "such as 2025-03-01T14:30"
        ) from None


class Backend:
    """One connection of one dialect. Not thread-safe on its own: the store serializes calls."""

    name: str = ""
    errors: tuple[type[BaseException], ...] = ()
    #: the neutral column types :meth:`encode` changes; values of the others pass through
    converted: frozenset[str] = frozenset({"json", "time", "bool"})

    def __init__(self, connection: Any):
        self.connection = connection

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders translated for this dialect."""
        return text

    def encode(self, type_: str, value: Any) -> Any:
        """A Python value as this dialect stores a column of neutral type ``type_``."""
        if value is None:
            return None
        if type_ == "json":
            return _JSON.encode(value)
        if type_ == "time":
            return utc(value) if isinstance(value, datetime) else parse_time(value, "time")
        if type_ == "bool":
            return bool(value)
        return value

    def decode(self, type_: str, value: Any) -> Any:
        """A stored value as Python: times aware UTC datetimes, JSON parsed, booleans bool."""
        if value is None:
            return None
        if type_ == "json":
            return json.loads(value) if isinstance(value, str) else value
        if type_ == "time":
            return utc(value) if isinstance(value, datetime) else utc(datetime.fromisoformat(value))
        if type_ == "bool":
            return bool(value)
        return value

    @contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction: committed on success, rolled back on any exception."""
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.connection.execute(self.sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cursor = self.connection.cursor()
            cursor.executemany(self.sql(sql), [tuple(r) for r in rows])
            cursor.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
        """Column names and all rows of a SELECT."""
        cursor = self.connection.execute(self.sql(sql), tuple(params))
        names = [d[0] for d in cursor.description or ()]
        rows = [tuple(r) for r in cursor.fetchall()]
        cursor.close()
        return names, rows

    def close(self) -> None:
        self.connection.close()


class SQLiteBackend(Backend):
    """SQLite in WAL mode with a busy timeout, so several processes can write one file."""

    name = "sqlite"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path | str):
        target = str(path)
        try:
            connection = sqlite3.connect(
                target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if target != ":memory:":
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as error:
            raise StoreError(
                f"cannot open SQLite store {target}: {error}; check the path and permissions"
            ) from None
        super().__init__(connection)
        self.path = target

    def encode(self, type_: str, value: Any) -> Any:
        value = super().encode(type_, value)
        if value is None:
            return None
        if type_ == "time":
            return value.isoformat(timespec="microseconds")
        if type_ == "bool":
            return int(value)
        return value

    def time_text(self, column: str, length: int) -> str:
        """SQL for the first ``length`` characters of a time column as ``YYYY-MM-DD...``."""
        return f"substr({column}, 1, {length})"

    @contextmanager
    def write(self) -> Iterator[None]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")


class PostgresBackend(Backend):
    """PostgreSQL through psycopg 3 (imported only when a PostgreSQL URL is opened)."""

    name = "postgresql"

    def __init__(self, url: str):
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                "a postgresql:// store needs psycopg 3, which is not installed; "
                "pip install 'psycopg[binary]' (or timepoint[postgres])"
            ) from None
        try:
            connection = psycopg.connect(url, autocommit=True)
            connection.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as error:
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact(url)}: {str(error).strip()}; "
                "check host, port, database and credentials in TIMEPOINT_DB_URL"
            ) from None
        super().__init__(connection)
        self.errors = (psycopg.Error,)

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def time_text(self, column: str, length: int) -> str:
        return f"substr(to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS'), 1, {length})"

    @contextmanager
    def write(self) -> Iterator[None]:
        with self.connection.transaction():
            yield


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
