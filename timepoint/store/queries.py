"""Finding and comparing runs: id lookup, filters, summaries, tables, aggregates.

pandas is imported inside the methods that return DataFrames, never at module import.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, or_, select

from timepoint.errors import RunNotFound, StoreError
from timepoint.store.base import Row, StoreBase, like_pattern, table_named
from timepoint.store.run_tables import RUNS
from timepoint.store.table_spec import Column, Table
from timepoint.store.types import parse_time

if TYPE_CHECKING:
    import pandas as pd

AGGREGATES: dict[str, Callable[..., sa.ColumnElement[Any]]] = {
    "sum": func.sum,
    "mean": func.avg,
    "count": func.count,
    "min": func.min,
    "max": func.max,
}
#: Group-by keys derived from ``runs.started``: name -> length of its ``YYYY-MM-DD`` prefix.
TIME_KEYS = {"year": 4, "month": 7, "day": 10}
ROW_COUNT = "rows"
_TEXT_COLUMNS = ("run_id", "scenario_id", "title", "description", "error")
_COMPARED = (
    "scenario_id", "mode", "status", "provider", "config_hash", "seed", "failed_step",
    "cost_usd", "tokens_in", "tokens_out", "tokens", "llm_calls", "duration_s",
    "entities", "timepoints",
)  # fmt: skip


class RunSummary(BaseModel):
    """One row of the run list: everything in ``runs`` but the record itself."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    scenario_id: str
    title: str = ""
    mode: str
    status: str
    seed: int
    config_hash: str = ""
    provider: str = ""
    started: datetime
    finished: datetime | None = None
    duration_s: float | None = None
    entities: int = 0
    timepoints: int = 0
    llm_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    failed_step: str | None = None
    error: str | None = None

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.tokens_in + self.tokens_out


SUMMARY_COLUMNS = list(RunSummary.model_fields)


def _date_only(value: object) -> bool:
    if isinstance(value, datetime):
        return False
    return isinstance(value, date) or (isinstance(value, str) and len(value.strip()) == 10)


def run_filter(
    *,
    scenario: str | Sequence[str] | None = None,
    mode: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    min_cost: float | None = None,
    max_cost: float | None = None,
    text: str | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions on the ``runs`` table, all of which a run must meet.

    ``until`` given as a date includes that whole day; ``text`` matches run id, scenario id,
    title, description and error, ignoring case.
    """
    runs = RUNS.sql
    conditions: list[ColumnElement[bool]] = []
    for column, value in (("scenario_id", scenario), ("mode", mode), ("status", status)):
        if value is not None:
            conditions.append(runs.c[column].in_([value] if isinstance(value, str) else value))
    if since is not None:
        conditions.append(runs.c.started >= parse_time(since, "since"))
    if until is not None:
        end = parse_time(until, "until")
        if _date_only(until):
            conditions.append(runs.c.started < end + timedelta(days=1))
        else:
            conditions.append(runs.c.started <= end)
    if min_cost is not None:
        conditions.append(runs.c.cost_usd >= float(min_cost))
    if max_cost is not None:
        conditions.append(runs.c.cost_usd <= float(max_cost))
    if text:
        pattern = like_pattern(text.lower())
        conditions.append(
            or_(*(func.lower(runs.c[c]).like(pattern, escape="\\") for c in _TEXT_COLUMNS))
        )
    return conditions


class RunQueries(StoreBase):
    """Lookup, filtering, tables as DataFrames, aggregates and comparison of runs."""

    def resolve_run_id(self, run_id: str) -> str:
        """The full id of the run ``run_id`` names exactly or as a unique prefix.

        Raises:
            RunNotFound: no run matches, or the prefix matches several runs.
        """
        if not run_id:
            raise RunNotFound("an empty run id names no run; give a run id or a unique prefix")
        ids = RUNS.sql.c.run_id
        rows = self._rows(
            select(ids).where(func.substr(ids, 1, len(run_id)) == run_id).order_by(ids).limit(11),
            doing=f"looking up run {run_id!r}",
        )
        matches = [r["run_id"] for r in rows]
        if run_id in matches or len(matches) == 1:
            return run_id if run_id in matches else matches[0]
        if matches:
            shown = ", ".join(matches[:10]) + (", ..." if len(matches) > 10 else "")
            raise RunNotFound(
                f"run id prefix {run_id!r} matches several runs: {shown}; give more characters"
            )
        known = [
            r["run_id"]
            for r in self._rows(
                select(ids).order_by(RUNS.sql.c.started.desc()).limit(5000),
                doing="listing run ids",
            )
        ]
        close = difflib.get_close_matches(run_id, known, n=3, cutoff=0.6)
        if close:
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?"
        elif known:
            hint = f"; most recent runs: {', '.join(known[:5])} (see `timepoint runs`)"
        else:
            hint = "; the store has no runs yet"
        raise RunNotFound(f"no run {run_id!r} in {self.location}{hint}")

    def list_runs(
        self,
        *,
        scenario: str | Sequence[str] | None = None,
        mode: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        min_cost: float | None = None,
        max_cost: float | None = None,
        text: str | None = None,
        limit: int | None = None,
    ) -> list[RunSummary]:
        """Runs matching every given filter, newest first.

        Args:
            scenario: scenario id, or a list of them.
            mode: temporal mode, or a list of them.
            status: ``running``, ``completed`` or ``failed``, or a list of them.
            since: runs started at or after this date, datetime or ISO string (UTC when naive).
            until: runs started at or before this moment; a date includes the whole day.
            min_cost: runs costing at least this many USD.
            max_cost: runs costing at most this many USD.
            text: case-insensitive substring of run id, scenario id, title, description or error.
            limit: at most this many runs.
        """
        conditions = run_filter(
            scenario=scenario,
            mode=mode,
            status=status,
            since=since,
            until=until,
            min_cost=min_cost,
            max_cost=max_cost,
            text=text,
        )
        runs = RUNS.sql
        statement = (
            select(*(runs.c[n] for n in SUMMARY_COLUMNS))
            .where(*conditions)
            .order_by(runs.c.started.desc(), runs.c.run_id.desc())
        )
        if limit is not None:
            statement = statement.limit(int(limit))
        return [RunSummary(**row) for row in self._rows(statement, doing="listing runs")]

    def runs_frame(self, **filters: Any) -> pd.DataFrame:
        """:meth:`list_runs` (same keyword filters and ``limit``) as a pandas DataFrame, one row
        per run, times as UTC datetimes."""
        import pandas as pd

        runs = self.list_runs(**filters)
        frame = pd.DataFrame([r.model_dump() for r in runs], columns=SUMMARY_COLUMNS)
        return _with_times(frame, ["started", "finished"])

    def rows(self, table: str, *, run_ids: Sequence[str] | None = None) -> list[Row]:
        """Decoded rows of ``table`` (``runs`` without ``record_json``), optionally of some runs.

        Run ids may be unique prefixes. JSON columns come back as Python lists and dicts.
        """
        spec = table_named(table)
        source = spec.sql
        statement = select(*(c for c in source.columns if c.name != "record_json"))
        if run_ids is not None:
            if not spec.has_run_id:
                raise StoreError(
                    f"table {table!r} has no run_id column, so it cannot be filtered by run; "
                    "leave out the run ids"
                )
            full = [self.resolve_run_id(r) for r in run_ids]
            statement = statement.where(source.c.run_id.in_(full))
        statement = statement.order_by(*(source.c[k] for k in spec.key))
        return self._rows(statement, doing=f"reading table {table}")

    def table_frame(self, name: str, run_id: str | None = None) -> pd.DataFrame:
        """One table as a DataFrame (all runs, or the run ``run_id`` names)."""
        import pandas as pd

        spec = table_named(name)
        rows = self.rows(name, run_ids=None if run_id is None else [run_id])
        columns = [c for c in spec.column_names if c != "record_json"]
        frame = pd.DataFrame(rows, columns=columns)
        return _with_times(frame, [c.name for c in spec.columns if c.type == "time"])

    def aggregate(
        self,
        group_by: str | Sequence[str],
        measure: str,
        fn: str = "sum",
        *,
        table: str = "runs",
        **filters: Any,
    ) -> pd.DataFrame:
        """``fn`` of ``measure`` per group, computed in the database.

        Args:
            group_by: column(s) of ``table``, of ``runs`` (joined for child tables), or
                ``day`` / ``month`` / ``year`` of the run's start.
            measure: a numeric column, or ``rows`` to count rows.
            fn: ``sum``, ``mean``, ``count``, ``min`` or ``max``.
            table: the table to aggregate, ``runs`` by default (e.g. ``llm_calls``).
            **filters: run filters as in :meth:`list_runs`.

        Returns:
            One row per group: the group columns, then ``<measure>_<fn>``.
        """
        import pandas as pd

        spec = table_named(table)
        if fn not in AGGREGATES:
            raise StoreError(f"aggregate fn {fn!r} is not one of {', '.join(AGGREGATES)}")
        keys = [group_by] if isinstance(group_by, str) else list(group_by)
        conditions = run_filter(**filters)
        groups = [_group_expr(self.dialect, spec, k).label(k) for k in keys]
        name = f"{measure}_{fn}"
        value = _measure_expr(spec, measure, fn).label(name)
        source: sa.FromClause = spec.sql
        if spec is not RUNS:
            if not spec.has_run_id and (filters or any(_needs_runs(spec, k) for k in keys)):
                raise StoreError(f"table {table!r} has no run_id, so it cannot be joined to runs")
            if spec.has_run_id:
                source = source.join(RUNS.sql, RUNS.sql.c.run_id == spec.sql.c.run_id)
        statement = select(*groups, value).select_from(source).where(*conditions)
        if keys:
            # by position: a key may be a column name of both tables, and PostgreSQL does not
            # match an expression in GROUP BY that carries its own copies of the parameters
            positions: list[sa.ColumnElement[Any]] = [
                sa.literal_column(str(i)) for i in range(1, len(keys) + 1)
            ]
            statement = statement.group_by(*positions).order_by(*positions)
        rows = self._rows(statement, doing=f"aggregating {table}")
        frame = pd.DataFrame(rows, columns=[*keys, name])
        column = _column(spec, measure)
        if column is not None and column.type == "int" and fn in ("sum", "min", "max"):
            frame[name] = frame[name].astype("Int64")
        return frame

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """Two runs side by side: ``{"a": id, "b": id, "fields": {name: {"a", "b", ...}}}``.

        Numeric fields carry ``delta`` (b minus a), the others ``same``.
        """
        ids = [self.resolve_run_id(a), self.resolve_run_id(b)]
        runs = RUNS.sql
        rows = {
            r["run_id"]: r
            for r in self._rows(
                select(*(runs.c[n] for n in SUMMARY_COLUMNS)).where(runs.c.run_id.in_(ids)),
                doing="comparing runs",
            )
        }
        first, second = (RunSummary(**rows[i]) for i in ids)
        fields: dict[str, dict[str, Any]] = {}
        for name in _COMPARED:
            va, vb = getattr(first, name), getattr(second, name)
            if name != "seed" and isinstance(va, int | float) and isinstance(vb, int | float):
                fields[name] = {"a": va, "b": vb, "delta": vb - va}
            else:
                fields[name] = {"a": va, "b": vb, "same": va == vb}
        return {"a": ids[0], "b": ids[1], "fields": fields}


def _column(spec: Table, name: str) -> Column | None:
    for table in (spec, RUNS):
        if name in table.column_names:
            return table.column(name)
    return None


def _needs_runs(spec: Table, key: str) -> bool:
    return key not in spec.column_names


def _qualified(spec: Table, name: str) -> sa.ColumnElement[Any] | None:
    if name in spec.column_names and name != "record_json":
        return spec.sql.c[name]
    if spec.has_run_id and name in RUNS.column_names and name != "record_json":
        return RUNS.sql.c[name]
    return None


def _time_text(dialect: str, length: int) -> sa.ColumnElement[str]:
    """The first ``length`` characters of ``runs.started`` as ``YYYY-MM-DDTHH:MI:SS`` text."""
    started: sa.ColumnElement[Any] = RUNS.sql.c.started
    if dialect == "postgresql":
        started = func.to_char(started, sa.literal_column("""'YYYY-MM-DD"T"HH24:MI:SS'"""))
    return func.substr(started, 1, length, type_=sa.Text)


def _group_expr(dialect: str, spec: Table, key: str) -> sa.ColumnElement[Any]:
    if key in TIME_KEYS and key not in spec.column_names:
        return _time_text(dialect, TIME_KEYS[key])
    expr = _qualified(spec, key)
    if expr is None:
        allowed = [c for c in spec.column_names if c != "record_json"] + list(TIME_KEYS)
        if spec is not RUNS and spec.has_run_id:
            allowed += [c for c in SUMMARY_COLUMNS if c not in allowed]
        raise StoreError(f"cannot group {spec.name} by {key!r}; allowed: {', '.join(allowed)}")
    return expr


def _measure_expr(spec: Table, measure: str, fn: str) -> sa.ColumnElement[Any]:
    if measure == ROW_COUNT:
        if fn != "count":
            raise StoreError(f"measure 'rows' only counts; use fn='count', not {fn!r}")
        return func.count()
    column = _column(spec, measure)
    expr = _qualified(spec, measure)
    if column is None or expr is None or column.type not in ("int", "float", "bool"):
        numeric = [c.name for c in spec.columns if c.type in ("int", "float", "bool")]
        raise StoreError(
            f"cannot aggregate {measure!r} of {spec.name}; numeric columns: "
            f"{', '.join(numeric)} (or 'rows' with fn='count')"
        )
    if fn == "count":
        return func.count(expr)
    if column.type == "bool":
        expr = sa.case((expr.is_(None), sa.null()), (expr, 1.0), else_=0.0)
    return AGGREGATES[fn](sa.cast(expr, sa.Double))


def _with_times(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    for column in columns:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
