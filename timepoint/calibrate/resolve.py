"""Recording outcomes: the resolutions of a question set (from its file, or read again from the
market or site a question was imported from) are written to the store's ``questions`` rows,
where scores read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from timepoint.calibrate.connectors.metaculus import MetaculusClient
from timepoint.calibrate.connectors.polymarket import DEFAULT_LEAD, PolymarketClient, reference
from timepoint.calibrate.forecast import check_question_ids, save_question
from timepoint.calibrate.questions import Question, QuestionSet
from timepoint.errors import CalibrationError


@dataclass(frozen=True)
class Resolved:
    """One question's recorded outcome (``None`` while unresolved)."""

    question_id: str
    outcome: bool | None
    value: float | None


def resolve(
    questions: QuestionSet,
    store: Any,
    resolutions: Mapping[str, bool | float] | None = None,
) -> list[Resolved]:
    """Record the resolution of every question of ``questions`` in ``store``.

    Args:
        questions: a loaded question set; each question's ``resolution`` is recorded.
        store: the run store.
        resolutions: outcomes that override the file's, by question id (e.g. from a
            connector).

    Raises:
        CalibrationError: ``resolutions`` names a question the set does not have.
    """
    extra = sorted(set(resolutions or {}) - {q.id for q in questions.questions})
    if extra:
        raise CalibrationError(
            f"resolutions for {', '.join(extra)}, which question set {questions.id!r} does not "
            "have; add the questions to the set first"
        )
    check_question_ids(store, questions.questions)
    recorded = []
    for question in questions.questions:
        if resolutions and question.id in resolutions:
            question = question.model_copy(update={"resolution": resolutions[question.id]})
        save_question(store, question)
        recorded.append(_resolved(question))
    return recorded


def _resolved(question: Question) -> Resolved:
    value = question.resolution
    number = float(value) if value is not None and not isinstance(value, bool) else None
    return Resolved(question.id, question.resolved_yes(), number)


def from_sources(
    questions: QuestionSet,
    *,
    polymarket: PolymarketClient | None = None,
    metaculus: MetaculusClient | None = None,
    lead: timedelta = DEFAULT_LEAD,
) -> QuestionSet:
    """``questions`` with the resolution and reference probability of each imported question
    read again from its source (``source: polymarket`` or ``metaculus`` and its
    ``source_ref``); questions of other sources, or of a source without a client, are kept.
    A closed Polymarket market's reference is its price ``lead`` before it stopped trading
    (:func:`~timepoint.calibrate.connectors.polymarket.reference`), never its settled price.

    Raises:
        ConnectorError: a source answered badly (see the connectors).
    """
    updated = []
    for question in questions.questions:
        ref = question.source_ref
        if question.source == "polymarket" and polymarket is not None and ref:
            market = polymarket.market(ref)
            priced = market.closed and market.yes_token is not None
            history = polymarket.price_history(market) if priced else []
            price = reference(market, history, lead=lead)
            change = {"resolution": market.resolution, **price.question_fields()}
            question = question.model_copy(update=change)
        elif question.source == "metaculus" and metaculus is not None and ref:
            post = metaculus.post(int(ref))
            change = {"resolution": post.resolution}
            if post.community_probability is not None:
                change["market_probability"] = post.community_probability
            question = question.model_copy(update=change)
        updated.append(question)
    return questions.model_copy(update={"questions": updated})
