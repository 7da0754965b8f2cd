"""Calibration (SPEC §11): questions answered by ensembles of runs, scored against outcomes.

Modules: :mod:`~timepoint.calibrate.questions` (question-set files),
:mod:`~timepoint.calibrate.extractors` (rule-based outcomes with evidence),
:mod:`~timepoint.calibrate.judge` (model-judged outcomes), :mod:`~timepoint.calibrate.ensemble`
(share, Wilson interval, Jeffreys estimate), :mod:`~timepoint.calibrate.forecast`
(``tp.forecast``), :mod:`~timepoint.calibrate.resolve` (recording outcomes),
:mod:`~timepoint.calibrate.scores` and :mod:`~timepoint.calibrate.reliability` (scores),
:mod:`~timepoint.calibrate.scorecard` (a question set's scores from the store),
:mod:`~timepoint.calibrate.report`, :mod:`~timepoint.calibrate.notebook` and
:mod:`~timepoint.calibrate.site` (the calibration report and its site page),
:mod:`~timepoint.calibrate.connectors` (Polymarket, Metaculus) and
:mod:`~timepoint.calibrate.synthetic` (questions with known probabilities).
"""

from timepoint.calibrate.forecast import Forecast, forecast, forecast_history, forecast_many
from timepoint.calibrate.questions import Question, QuestionSet, load_questions

__all__ = [
    "Forecast",
    "Question",
    "QuestionSet",
    "forecast",
    "forecast_history",
    "forecast_many",
    "load_questions",
]
