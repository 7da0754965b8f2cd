"""Forecasting questions and the forecasts made for them: keyed rows, upserted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from timepoint.store.base import Row, StoreBase
from timepoint.store.forecast_tables import FORECASTS, QUESTIONS


class ForecastTables(StoreBase):
    """Rows of ``questions`` and ``forecasts``."""

    def save_question(self, question_id: str, **fields: Any) -> None:
        """Insert or update a question; fields are ``questions`` columns (``extractor`` may
        stand for ``extractor_json``)."""
        values = self._fields(QUESTIONS, fields, fixed=("question_id", "updated"))
        with self._guard(f"saving question {question_id!r}") as db, db.write():
            db.upsert(
                QUESTIONS, {"question_id": question_id, **values, "updated": datetime.now(UTC)}
            )

    def questions(self, question_set: str | None = None) -> list[Row]:
        """Every question, or those of one question set, ordered by id."""
        table = QUESTIONS.sql
        statement = select(table).order_by(table.c.question_id)
        if question_set:
            statement = statement.where(table.c.question_set == question_set)
        return self._rows(statement, doing="reading questions")

    def save_forecast(self, forecast_id: str, **fields: Any) -> None:
        """Insert or update a forecast; fields are ``forecasts`` columns (``run_ids`` may stand
        for ``run_ids_json``)."""
        values = self._fields(FORECASTS, fields, fixed=("forecast_id", "updated"))
        with self._guard(f"saving forecast {forecast_id!r}") as db, db.write():
            db.upsert(
                FORECASTS, {"forecast_id": forecast_id, **values, "updated": datetime.now(UTC)}
            )

    def forecasts(self, question_id: str | None = None) -> list[Row]:
        """Every forecast, or those of one question, oldest first."""
        table = FORECASTS.sql
        statement = select(table).order_by(table.c.made, table.c.forecast_id)
        if question_id:
            statement = statement.where(table.c.question_id == question_id)
        return self._rows(statement, doing="reading forecasts")
