"""What every part of the store shares: one engine, one lock, guarded connections.

:class:`StoreBase` is the foundation of :class:`~timepoint.store.store.Store`; the query and
batch parts are mixins on top of it. All database access goes through :meth:`StoreBase._guard`,
which serializes the threads of a process, hands out a :class:`StoreConnection` and turns
SQLAlchemy and driver errors into :class:`~timepoint.errors.StoreError`.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Self

from sqlalchemy import Connection, CursorResult, Engine, Executable, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError, StatementError

from timepoint.errors import StoreError
from timepoint.store.engine import WRITE
from timepoint.store.schema import TABLES_BY_NAME
from timepoint.store.table_spec import Table

Row = dict[str, Any]


def table_named(name: str) -> Table:
    """The table called ``name``, or a StoreError listing the tables and the closest match."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        known = sorted(TABLES_BY_NAME)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise StoreError(f"no table {name!r}{hint} tables: {', '.join(known)}") from None


def like_pattern(text: str, *, prefix: bool = False) -> str:
    """A LIKE pattern (escape character ``\\``) matching ``text`` literally, as a substring or
    (``prefix``) a prefix."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix else f"%{escaped}%"


class StoreConnection:
    """A connection checked out for one guarded piece of work.

    Statements outside :meth:`write` are committed when the guard ends without an error.
    """

    def __init__(self, connection: Connection):
        self.connection = connection

    @property
    def name(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.connection.dialect.name

    def execute(self, statement: Executable | str, params: Any = None) -> CursorResult[Any]:
        """Run a Core statement (or SQL text with ``:name`` parameters)."""
        if isinstance(statement, str):
            statement = text(statement)
        return self.connection.execute(statement, params)

    def query(
        self, statement: Executable | str, params: Any = None
    ) -> tuple[list[str], list[tuple]]:
        """Column names and all rows of a SELECT."""
        result = self.execute(statement, params)
        return list(result.keys()), [tuple(r) for r in result]

    def rows(self, statement: Executable) -> list[Row]:
        """All rows of a SELECT as dicts, values converted by the column types."""
        return [dict(r) for r in self.execute(statement).mappings()]

    def upsert(self, table: Table, values: Mapping[str, Any], *, keep: Sequence[str] = ()) -> None:
        """Insert a row, or update the given columns (but those in ``keep``) of the row with the
        same key."""
        insert = (postgresql.insert if self.name == "postgresql" else sqlite.insert)(table.sql)
        statement = insert.values(dict(values))
        fixed = {*table.key, *keep}
        updates = {n: statement.excluded[n] for n in values if n not in fixed}
        self.execute(
            statement.on_conflict_do_update(index_elements=table.key, set_=updates)
            if updates
            else statement.on_conflict_do_nothing(index_elements=table.key)
        )

    @contextmanager
    def write(self) -> Iterator[Self]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite): committed on success, rolled
        back on any exception."""
        connection = self.connection
        if connection.in_transaction():
            connection.commit()
        connection.execution_options(**{WRITE: True})
        try:
            with connection.begin():
                yield self
        finally:
            connection.execution_options(**{WRITE: False})


def failure(error: SQLAlchemyError) -> str:
    """The first line of what the driver (or SQLAlchemy) said."""
    origin = getattr(error, "orig", None) or error
    message = str(origin).strip()
    return message.splitlines()[0] if message else repr(origin)


class StoreBase:
    """One engine on a run store, shared by the threads of one process under a lock."""

    def __init__(self, engine: Engine, *, location: str, url: str | None = None):
        self._engine = engine
        self._lock = threading.RLock()
        self._closed = False
        self.location = location
        self._url = url if url is not None else location

    @property
    def url(self) -> str:
        """What ``open_store`` needs to open this store again (may contain a password)."""
        return self._url

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def __repr__(self) -> str:
        return f"<Store {self.dialect} {self.location}>"

    @contextmanager
    def _guard(self, doing: str) -> Iterator[StoreConnection]:
        with self._lock:
            if self._closed:
                raise StoreError(
                    f"the store {self.location} is closed; open it again with open_store()"
                )
            try:
                with self._engine.connect() as connection:
                    yield StoreConnection(connection)
                    if connection.in_transaction():
                        connection.commit()
            except StatementError as error:
                if isinstance(error.orig, StoreError):
                    raise error.orig from None
                raise StoreError(
                    f"{self.dialect} store {self.location}: {doing} failed: {failure(error)}"
                ) from error
            except SQLAlchemyError as error:
                raise StoreError(
                    f"{self.dialect} store {self.location}: {doing} failed: {failure(error)}"
                ) from error

    def _rows(self, statement: Executable, *, doing: str) -> list[Row]:
        with self._guard(doing) as db:
            return db.rows(statement)

    @staticmethod
    def _full_row(table: Table, row: Mapping[str, Any]) -> Row:
        """``row`` with a value (``None`` when missing) for every column of ``table``."""
        return {name: row.get(name) for name in table.column_names}

    def _fields(self, table: Table, fields: Mapping[str, Any], *, fixed: Sequence[str]) -> Row:
        """``fields`` checked against ``table``'s columns (``spec`` may stand for ``spec_json``)."""
        allowed = [c for c in table.column_names if c not in fixed]
        out: Row = {}
        for name, value in fields.items():
            column = name if name in allowed else f"{name}_json"
            if column not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise StoreError(
                    f"{table.name} has no field {name!r}{hint} allowed: {', '.join(allowed)}"
                )
            out[column] = value
        return out

    def close(self) -> None:
        """Close the store's connections. Further calls raise StoreError; closing twice is
        harmless."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
