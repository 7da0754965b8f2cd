"""Exports of store tables: JSONL (training data, any table) and Parquet (any table).

Options: ``anonymize`` replaces entity ids and names by stable pseudonyms and scrubs names from
every string (see :mod:`timepoint.store.anonymize`); ``drop_text`` removes the free-text
columns (``pii="text"`` in :mod:`timepoint.store.table_spec`). ``runs.record_json`` is never
exported: it holds the whole record, names included; :meth:`Store.load_run` reads it.

Files are written to a temporary file next to the target and renamed into place, so a reader
never sees a half-written export.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from timepoint.errors import ConfigurationError, StoreError
from timepoint.store.anonymize import Pseudonyms
from timepoint.store.base import Row, table_named
from timepoint.store.store import Store
from timepoint.store.table_spec import Column, Table

FORMATS = ("jsonl", "parquet")


def _columns(spec: Table, drop_text: bool) -> list[Column]:
    return [
        c for c in spec.columns if c.name != "record_json" and not (drop_text and c.pii == "text")
    ]


def _prepared_rows(
    store: Store,
    table: str,
    run_ids: Sequence[str] | None,
    anonymize: bool,
    drop_text: bool,
    salt: str,
) -> tuple[list[Column], list[Row]]:
    spec = table_named(table)
    columns = _columns(spec, drop_text)
    names = [c.name for c in columns]
    rows = [{n: r.get(n) for n in names} for r in store.rows(table, run_ids=run_ids)]
    if anonymize:
        people = (
            store.rows("entities", run_ids=run_ids) if spec.has_run_id else store.rows("entities")
        )
        pseudonyms = Pseudonyms(((e["entity_id"], e["name"]) for e in people), salt=salt)
        rows = [pseudonyms.row(spec, r) for r in rows]
    return columns, rows


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path``, renamed onto it if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(temp)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def export_jsonl(
    store: Store,
    table: str,
    path: str | Path,
    run_ids: Sequence[str] | None = None,
    anonymize: bool = False,
    drop_text: bool = False,
    *,
    salt: str = "",
) -> int:
    """Write one JSON object per row of ``table`` to ``path``; returns the number of rows.

    Args:
        store: the store to read.
        table: a table name (see ``docs/schema.md``).
        path: the output file.
        run_ids: only rows of these runs (full ids or unique prefixes).
        anonymize: pseudonymize entity ids and names and scrub names from strings.
        drop_text: leave out free-text columns.
        salt: secret mixed into pseudonyms (see :mod:`timepoint.store.anonymize`).
    """
    _, rows = _prepared_rows(store, table, run_ids, anonymize, drop_text, salt)
    target = Path(path)
    with _atomic(target) as temp, temp.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
    return len(rows)


def _arrow_type(pa: Any, column: Column) -> Any:
    return {
        "text": pa.string(),
        "json": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "time": pa.timestamp("us", tz="UTC"),
    }[column.type]


def export_parquet(
    store: Store,
    table: str,
    path: str | Path,
    run_ids: Sequence[str] | None = None,
    anonymize: bool = False,
    drop_text: bool = False,
    *,
    salt: str = "",
) -> int:
    """Write ``table`` as a Parquet file (JSON columns as JSON text); returns the row count.

    Arguments as in :func:`export_jsonl`.

    Raises:
        ConfigurationError: pyarrow is not installed.
    """
    if importlib.util.find_spec("pyarrow") is None:
        raise ConfigurationError(
            "Parquet export needs pyarrow, which is not installed; pip install pyarrow "
            "(or export JSONL with --format jsonl)"
        )
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns, rows = _prepared_rows(store, table, run_ids, anonymize, drop_text, salt)
    for row in rows:
        for column in columns:
            value = row[column.name]
            if column.type == "json" and value is not None:
                row[column.name] = json.dumps(value, ensure_ascii=False)
    schema = pa.schema([pa.field(c.name, _arrow_type(pa, c)) for c in columns])
    arrow_table = pa.Table.from_pylist(rows, schema=schema)
    with _atomic(Path(path)) as temp:
        pq.write_table(arrow_table, temp)
    return len(rows)


EXPORTERS: dict[str, Callable[..., int]] = {"jsonl": export_jsonl, "parquet": export_parquet}


def export_table(
    store: Store, table: str, path: str | Path, *, format: str | None = None, **options: Any
) -> int:
    """Export with the format named, or guessed from the file suffix (``.parquet`` -> Parquet,
    anything else JSONL); ``options`` as in :func:`export_jsonl`."""
    chosen = format or ("parquet" if Path(path).suffix.lower() in (".parquet", ".pq") else "jsonl")
    if chosen not in EXPORTERS:
        raise StoreError(f"export format {chosen!r} is not one of {', '.join(FORMATS)}")
    return EXPORTERS[chosen](store, table, path, **options)
