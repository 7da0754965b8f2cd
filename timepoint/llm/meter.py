"""Metering: every provider attempt is priced, recorded, and paid for in advance.

:class:`MeteredModel` reserves a true upper bound of a call on a
:class:`~timepoint.llm.budget.Budget` (a run's budget under its batch's) before making it and
settles the actual cost after, and writes a
:class:`~timepoint.llm.base.CallRecord` for every attempt: ``ok``, ``invalid`` (the answer did
not match the requested schema), ``error`` or ``refused`` (the budget did not allow it), with the
attempt's prompt and answer kept apart in the :class:`~timepoint.llm.call_log.CallLog`.
Because reservations are taken under one lock for the whole budget tree, concurrent calls never
overshoot a hard limit as long as no call costs more than it reserved.

The reservation of one attempt (every retry, re-ask, ``max_tokens`` raise and structured-output
re-send is its own attempt) is:

- tokens: the prompt at one token per two ASCII characters (one per digit and per non-ASCII
  byte) plus chat-template overhead (:func:`~timepoint.llm.base.request_token_bound`) plus
  the whole ``max_tokens``;
- USD: those tokens at the model's list price, times ``price_margin`` (default
  :data:`DEFAULT_PRICE_MARGIN`; ``TIMEPOINT_LLM_PRICE_MARGIN``). A model without a price (an
  unlisted self-hosted model) reserves at the highest price per token its endpoint has reported
  so far; before its first reported cost it reserves nothing, and such a first call stops the
  run only when it takes a budget past its limit.

An answer whose cost or usage cannot be read (a malformed 200 body, a body cut off by the size
cap or the deadline) is charged its whole reservation. When an endpoint still reports more than
a call reserved, the overshoot is recorded on the budget and every budget above it, every
further reservation against them is refused at once, and the call fails with
:class:`~timepoint.llm.budget.BudgetOverspent`, which says by how much.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from timepoint.errors import BudgetExceeded, LLMError
from timepoint.llm.base import (
    CallRecord,
    Completion,
    LanguageModel,
    Request,
    estimate_tokens,
    request_token_bound,
)
from timepoint.llm.budget import Budget, BudgetOverspent, Reservation
from timepoint.llm.call_log import CallLog
from timepoint.llm.json_extract import parse_as
from timepoint.llm.one_attempt import one_attempt_per_call

#: (input, output) USD per million tokens for a model id
Prices = Callable[[str], tuple[float, float]]

#: how far above list price a call's USD reservation goes (providers' prices vary a little)
DEFAULT_PRICE_MARGIN = 1.25


class MeteredModel:
    """Wraps a model; reserves, settles and records every call against ``budget``.

    Cost is the provider-reported cost when positive, else the token counts at ``prices``.
    When the provider reports no usage, tokens are estimated (~4 characters a token). A call
    whose ``request.on_demand`` is set (lazy elevation for a query) is recorded
    with ``on_demand=True`` so run summaries can separate it from generation.

    Args:
        inner: the wrapped model.
        budget: charged for every call (``None``: an unlimited budget named ``run``).
        prices: model id -> (input, output) USD per million tokens.
        on_record: a :class:`CallLog`, a list to append records to, or a callable.
        clock: wall-clock seconds for ``started_at``.
        price_margin: the USD reservation is the worst case at list price times this.
    """

    def __init__(
        self,
        inner: LanguageModel,
        budget: Budget | None = None,
        prices: Prices | None = None,
        on_record: CallLog | list[CallRecord] | Callable[[CallRecord], None] | None = None,
        clock: Callable[[], float] = time.time,
        price_margin: float = DEFAULT_PRICE_MARGIN,
    ):
        if price_margin < 1:
            raise ValueError(f"price_margin must be 1 or more, got {price_margin}")
        self.inner = inner
        self.budget = budget if budget is not None else Budget("run")
        self._prices = prices or (lambda model: (0.0, 0.0))
        if isinstance(on_record, CallLog):
            self.log = on_record
        elif isinstance(on_record, list):
            self.log = CallLog(on_record.append)
        else:
            self.log = CallLog(on_record)
        self._clock = clock
        self.price_margin = price_margin
        self._observed: dict[str, float] = {}
        self._observed_lock = threading.Lock()

    @property
    def provider(self) -> str:
        return self.inner.provider

    def estimate(self, request: Request) -> tuple[float, int]:
        """Worst case (USD, tokens) of one attempt of ``request``: the conservative prompt count
        of :func:`~timepoint.llm.base.request_token_bound` and the whole ``max_tokens``, at list
        price times the price margin."""
        prompt = request_token_bound(request)
        tokens = prompt + request.max_tokens
        input_price, output_price = self._prices(request.model or "")
        usd = (prompt * input_price + request.max_tokens * output_price) / 1_000_000
        if usd <= 0:
            with self._observed_lock:
                usd = tokens * self._observed.get(request.model or "", 0.0)
        return usd * self.price_margin, tokens

    def complete(self, request: Request) -> Completion:
        """Reserve, call, settle, record.

        Raises:
            BudgetExceeded: the reservation was refused; the inner model was not called.
            BudgetOverspent: the endpoint reported more than the call reserved (the answer is
                dropped; the budget refuses every further call).
        """
        base: dict[str, Any] = {
            "action": request.action.value,
            "model": request.model or "default",
            "provider": self.inner.provider,
            "on_demand": request.on_demand,
            "subject": request.subject,
            "prompt": request.messages,
        }
        usd, tokens = self.estimate(request)
        started_at = self._clock()
        guards = [guard for budget in self.budget.chain() for guard in budget.guards]
        held: list[tuple[Any, int]] = []
        try:
            reservation = self.budget.reserve(usd, tokens)
            try:
                for guard in guards:
                    held.append((guard, guard.admit(request, tokens)))
            except BaseException:
                self.budget.release(reservation)
                for guard, reserve in held:
                    guard.release(reserve)
                raise
        except BudgetExceeded as error:
            self.log.write(**base, outcome="refused", error=str(error), started_at=started_at)
            raise
        started = time.perf_counter()
        try:
            with one_attempt_per_call():
                completion = self.inner.complete(request)
        except BaseException as error:
            latency = (time.perf_counter() - started) * 1000
            spent = self._spent_by(request, error, usd, tokens)
            if spent is None:
                self.budget.release(reservation)
                for guard, reserve in held:
                    guard.release(reserve)
            if isinstance(error, LLMError):
                cost, used = spent if spent is not None else (0.0, (0, 0))
                note = f"{type(error).__name__}: {error}"[:500]
                overshoot = self._settle(reservation, held, cost, used, request) if spent else None
                self.log.write(
                    **base,
                    prompt_tokens=used[0],
                    completion_tokens=used[1],
                    cost_usd=cost,
                    outcome="error",
                    error=f"{note}; {overshoot}"[:500] if overshoot else note,
                    latency_ms=latency,
                    started_at=started_at,
                )
                if overshoot:
                    raise self._overspent(overshoot) from error
            elif spent is not None:
                self._settle(reservation, held, spent[0], spent[1], request)
            raise
        completion = self._priced(request, completion)
        usage = completion.usage
        overshoot = self._settle(
            reservation,
            held,
            completion.cost_usd,
            (usage.prompt_tokens, usage.completion_tokens),
            request,
        )
        outcome, problem = "ok", None
        if request.output_schema is not None and not isinstance(
            completion.parsed, request.output_schema
        ):
            parsed, problems = parse_as(request.output_schema, completion.text)
            if parsed is None:
                outcome, problem = "invalid", "; ".join(problems)[:500]
        if overshoot:
            problem = f"{problem}; {overshoot}"[:500] if problem else overshoot[:500]
        self.log.write(
            **{**base, "model": completion.model or base["model"]},
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost_usd=completion.cost_usd,
            latency_ms=completion.latency_ms or (time.perf_counter() - started) * 1000,
            outcome=outcome,
            error=problem,
            started_at=started_at,
            structured_mode=completion.structured_mode,
            refused_modes=completion.refused_modes,
            response=completion.text,
        )
        if overshoot:
            raise self._overspent(overshoot)
        return completion

    def _spent_by(
        self, request: Request, error: BaseException, usd: float, tokens: int
    ) -> tuple[float, tuple[int, int]] | None:
        """What a failed attempt cost: the usage its answer reported (``error.spent``), its
        whole reservation when the endpoint answered but the cost cannot be read
        (``error.billed``), else nothing."""
        spent = getattr(error, "spent", None)
        if isinstance(spent, Completion):
            priced = self._priced(request, spent)
            return priced.cost_usd, (priced.usage.prompt_tokens, priced.usage.completion_tokens)
        if getattr(error, "billed", False):
            return usd, (tokens - request.max_tokens, request.max_tokens)
        return None

    def _settle(
        self,
        reservation: Reservation,
        held: list[tuple[Any, int]],
        usd: float,
        used: tuple[int, int],
        request: Request,
    ) -> str | None:
        """Settle the budget and the guards; returns the overshoot when a limited budget was
        charged more than it reserved (after recording it there)."""
        tokens = used[0] + used[1]
        self.budget.settle(reservation, usd, tokens)
        if usd > 0 and tokens > 0:
            with self._observed_lock:
                key = request.model or ""
                self._observed[key] = max(self._observed.get(key, 0.0), usd / tokens)
        notes: list[str] = []
        over_usd = usd - reservation.usd
        over_tokens = tokens - reservation.tokens
        if over_usd > 1e-12 and reservation.usd <= 0 and not self._past_limit():
            # no price was known to reserve by (an unpriced model's first paid call): its price
            # per token is learnt from now on; only a passed limit stops the run
            over_usd = 0.0
        if over_usd > 1e-12 and self.budget.limits_usd():
            notes.append(
                f"the endpoint reported ${usd:.6g} for a {request.action.value} call reserved "
                f"at ${reservation.usd:.6g} (over by ${over_usd:.6g})"
            )
        if over_tokens > 0 and self.budget.limits_tokens():
            notes.append(
                f"the endpoint reported {tokens} tokens for a {request.action.value} call "
                f"reserved at {reservation.tokens} (over by {over_tokens})"
            )
        for guard, reserve in held:
            note = guard.settle(reserve, tokens)
            if note:
                notes.append(note)
        if not notes:
            return None
        detail = "; ".join(notes)
        self.budget.overspend(detail, max(0.0, over_usd), max(0, over_tokens))
        return detail

    def _past_limit(self) -> bool:
        return any(b.max_usd is not None and b.spent_usd > b.max_usd for b in self.budget.chain())

    def _overspent(self, detail: str) -> BudgetOverspent:
        budget = self.budget
        limited = next((b for b in budget.chain() if b.max_usd is not None), None)
        if limited is not None:
            over = limited.spent_usd - limited.max_usd  # type: ignore[operator]
            detail = (
                f"{detail}; the {limited.name} budget has spent ${limited.spent_usd:.6g} of "
                f"${limited.max_usd:.6g}" + (f" (over by ${over:.6g})" if over > 0 else "")
            )
            return BudgetOverspent(limited.name, detail, limited.spent_usd, limited.max_usd or 0)
        guards = [g for b in budget.chain() for g in b.guards]
        name = getattr(guards[0], "name", budget.name) if guards else budget.name
        return BudgetOverspent(name, detail, budget.spent_usd, 0.0)

    def _priced(self, request: Request, completion: Completion) -> Completion:
        usage = completion.usage
        if usage.total_tokens == 0:
            usage = usage.model_copy(
                update={
                    "prompt_tokens": estimate_tokens("".join(m.content for m in request.messages)),
                    "completion_tokens": estimate_tokens(completion.text) if completion.text else 0,
                }
            )
        cost = completion.cost_usd
        if cost <= 0:
            input_price, output_price = self._prices(request.model or completion.model)
            cost = (
                usage.prompt_tokens * input_price + usage.completion_tokens * output_price
            ) / 1_000_000
        return completion.model_copy(update={"usage": usage, "cost_usd": cost})

    def __repr__(self) -> str:
        return f"MeteredModel({self.inner!r}, {self.budget!r})"
