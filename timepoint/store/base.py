"""What every part of the store shares: one connection, one lock, encoded reads and writes.

:class:`StoreBase` is the foundation of :class:`~timepoint.store.store.Store`; the query and
batch parts are mixins on top of it. All database access goes through :meth:`StoreBase._guard`,
which serializes threads and turns driver errors into :class:`~timepoint.errors.StoreError`.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Self

from timepoint.errors import StoreError
from timepoint.store.dialect import Backend
from timepoint.store.schema import TABLES_BY_NAME, Table

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
    """A LIKE pattern matching ``text`` literally, as a substring or (``prefix``) a prefix."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix else f"%{escaped}%"


class StoreBase:
    """One connection to a run store, shared by the threads of one process under a lock."""

    def __init__(self, backend: Backend, *, location: str, url: str | None = None):
        self._backend = backend
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
        return self._backend.name

    def __repr__(self) -> str:
        return f"<Store {self.dialect} {self.location}>"

    @contextmanager
    def _guard(self, doing: str) -> Iterator[Backend]:
        with self._lock:
            if self._closed:
                raise StoreError(
                    f"the store {self.location} is closed; open it again with open_store()"
                )
            try:
                yield self._backend
            except self._backend.errors as error:
                message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                raise StoreError(
                    f"{self.dialect} store {self.location}: {doing} failed: {message}"
                ) from error

    def _encode_row(self, table: Table, row: Mapping[str, Any]) -> list[Any]:
        encode, converted = self._backend.encode, self._backend.converted
        return [
            encode(c.type, row.get(c.name)) if c.type in converted else row.get(c.name)
            for c in table.columns
        ]

    def _decode(self, table: Table, names: Sequence[str], values: Sequence[Any]) -> Row:
        types = {c.name: c.type for c in table.columns}
        return {
            name: self._backend.decode(types[name], value) if name in types else value
            for name, value in zip(names, values, strict=True)
        }

    def _select(
        self, table: Table, sql: str, params: Sequence[Any] = (), *, doing: str
    ) -> list[Row]:
        with self._guard(doing) as db:
            names, rows = db.query(sql, params)
        return [self._decode(table, names, r) for r in rows]

    def _insert_sql(self, table: Table) -> str:
        marks = ", ".join("?" for _ in table.columns)
        return f"INSERT INTO {table.name} ({', '.join(table.column_names)}) VALUES ({marks})"

    def _upsert(self, db: Backend, table: Table, values: Mapping[str, Any]) -> None:
        """Insert a row or update the given columns of the row with the same key."""
        names = list(values)
        marks = ", ".join("?" for _ in names)
        updates = [n for n in names if n not in table.key]
        action = (
            "DO UPDATE SET " + ", ".join(f"{n} = excluded.{n}" for n in updates)
            if updates
            else "DO NOTHING"
        )
        db.execute(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(table.key)}) {action}",
            [db.encode(table.column(n).type, values[n]) for n in names],
        )

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
        """Close the connection. Further calls raise StoreError; closing twice is harmless."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
