"""SQLAlchemy engines for the two dialects: SQLite (default) and PostgreSQL through psycopg 3.

SQLite runs in WAL mode with a busy timeout, so several processes can write one file. pysqlite
is told to leave transactions alone and SQLAlchemy's ``begin`` event emits them instead (the
recipe in SQLAlchemy's SQLite documentation): plain ``BEGIN`` for reads, ``BEGIN IMMEDIATE``
for connections carrying the :data:`WRITE` execution option, so a writer takes the write lock
before it reads what it is about to change. PostgreSQL sessions run in UTC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from timepoint.errors import StoreError

#: Seconds a writer waits for another process's SQLite transaction before giving up.
BUSY_TIMEOUT_S = 30.0
#: Execution option of a connection whose next transaction writes (``BEGIN IMMEDIATE``).
WRITE = "timepoint_write"


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


def sqlite_engine(path: Path | str) -> Engine:
    """An engine on an SQLite file, or on one private in-memory database for ``:memory:``."""
    memory = str(path) == ":memory:"
    options: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = create_engine(
        URL.create("sqlite", database=None if memory else str(path)),
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        **options,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun by the hook below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        writing = connection.get_execution_options().get(WRITE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def postgres_engine(url: str) -> Engine:
    """An engine on a ``postgresql://`` URL through psycopg 3 (imported only here)."""
    try:
        engine = create_engine(
            make_url(url).set(drivername="postgresql+psycopg"), pool_pre_ping=True
        )
    except ImportError:
        raise StoreError(
            "a postgresql:// store needs psycopg 3, which is not installed; "
            "pip install 'psycopg[binary]' (or timepoint[postgres])"
        ) from None

    @event.listens_for(engine, "connect")
    def _utc(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.close()
        dbapi_connection.autocommit = autocommit

    return engine
