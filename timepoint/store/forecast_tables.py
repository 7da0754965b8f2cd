"""The tables of calibration: forecasting questions and the forecasts made for them."""

from __future__ import annotations

from timepoint.store.table_spec import Column, Table

C = Column

QUESTIONS = Table(
    "questions",
    "Forecasting questions (calibration), from YAML question sets or market connectors.",
    (
        C("question_id", "text", "Question id.", key=True),
        C("question_set", "text", "Question set the question belongs to."),
        C("text", "text", "The question.", pii="text"),
        C("scenario", "text", "Scenario used to forecast it."),
        C("extractor_json", "json", "Outcome extractor: what counts as `yes` in a run."),
        C("close_date", "time", "When forecasting closes (UTC)."),
        C("open_date", "time", "When forecasting opens (UTC).", since=3),
        C("resolution_date", "time", "When the question resolves (UTC)."),
        C("resolution", "float", "1 yes, 0 no, empty while unresolved."),
        C(
            "resolution_value",
            "float",
            "The number a numeric (threshold) question resolved to; empty otherwise.",
            since=6,
        ),
        C("source", "text", "yaml, polymarket or metaculus."),
        C("source_ref", "text", "Id of the question at its source."),
        C("market_probability", "float", "Latest market probability, when a market has one."),
        C("updated", "time", "Last change (UTC)."),
    ),
)

FORECASTS = Table(
    "forecasts",
    "Probabilities made from ensembles of runs, with the runs behind them.",
    (
        C("forecast_id", "text", "Forecast id.", key=True),
        C("question_id", "text", "Question forecast (`questions.question_id`)."),
        C("made", "time", "When the forecast was made (UTC)."),
        C("probability", "float", "Forecast probability."),
        C("lower", "float", "Lower bound of the Wilson interval."),
        C("upper", "float", "Upper bound of the Wilson interval."),
        C("runs", "int", "Runs in the ensemble."),
        C("yes_runs", "int", "Runs whose outcome was `yes`."),
        C("batch_id", "text", "Batch that produced the ensemble."),
        C("run_ids_json", "json", "Ids of the runs in the ensemble."),
        C("method", "text", "Smoothing / aggregation method."),
        C("smoothed", "float", "Jeffreys-smoothed probability `(k + 0.5) / (N + 1)`.", since=3),
        C("level", "float", "Coverage of the Wilson interval (e.g. 0.9).", since=3),
        C(
            "outcomes_json",
            "json",
            "Outcome of each run: run id, yes/no, extractor, value and evidence.",
            since=3,
        ),
        C("updated", "time", "Last change (UTC)."),
    ),
    indexes=(("question_id",),),
)
