"""Budgets and metering: every provider attempt is priced, recorded, and paid for in advance.

A :class:`Budget` tracks spent and reserved USD and tokens, optionally under a parent (a run's
budget under its batch's). :class:`MeteredModel` reserves the worst-case cost of a call before
making it (prompt estimate plus ``max_tokens`` at list price), settles the actual cost after,
and writes a :class:`~timepoint.llm.base.CallRecord` for every attempt: ``ok``, ``invalid``
(the answer did not match the requested schema), ``error`` or ``refused`` (the budget did not
allow it). Because reservations are taken under one lock for the whole budget tree, concurrent
calls never overshoot a hard limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from timepoint.errors import BudgetExceeded, LLMError
from timepoint.llm.base import CallRecord, Completion, LanguageModel, Request, estimate_tokens
from timepoint.llm.json_extract import parse_as

#: (input, output) USD per million tokens for a model id
Prices = Callable[[str], tuple[float, float]]


@dataclass
class Reservation:
    """Money and tokens held on a budget (and its parents) for one call in flight."""

    budget: Budget
    usd: float
    tokens: int
    open: bool = field(default=True)


class Budget:
    """A thread-safe spending limit in USD and/or tokens, optionally under a parent budget.

    Args:
        name: shown in :class:`~timepoint.errors.BudgetExceeded` messages (``run``, ``batch``).
        max_usd: hard USD limit (``None``: unlimited).
        max_tokens: hard token limit (``None``: unlimited).
        parent: a budget that every reservation is also charged to.
    """

    def __init__(
        self,
        name: str,
        max_usd: float | None = None,
        max_tokens: int | None = None,
        parent: Budget | None = None,
    ):
        self.name = name
        self.max_usd = max_usd
        self.max_tokens = max_tokens
        self.parent = parent
        self._lock: threading.RLock = parent._lock if parent is not None else threading.RLock()
        self._spent_usd = 0.0
        self._spent_tokens = 0
        self._reserved_usd = 0.0
        self._reserved_tokens = 0

    @property
    def spent_usd(self) -> float:
        with self._lock:
            return self._spent_usd

    @property
    def spent_tokens(self) -> int:
        with self._lock:
            return self._spent_tokens

    @property
    def reserved_usd(self) -> float:
        with self._lock:
            return self._reserved_usd

    @property
    def reserved_tokens(self) -> int:
        with self._lock:
            return self._reserved_tokens

    @property
    def remaining_usd(self) -> float | None:
        """USD still available (``None`` when unlimited), reservations deducted."""
        with self._lock:
            if self.max_usd is None:
                return None
            return max(0.0, self.max_usd - self._spent_usd - self._reserved_usd)

    def chain(self) -> list[Budget]:
        """This budget and its ancestors, innermost first."""
        budgets: list[Budget] = []
        node: Budget | None = self
        while node is not None:
            budgets.append(node)
            node = node.parent
        return budgets

    def reserve(self, usd: float, tokens: int) -> Reservation:
        """Hold ``usd`` and ``tokens`` on this budget and every parent.

        Raises:
            BudgetExceeded: some budget in the chain would pass its limit; nothing is held.
        """
        with self._lock:
            for budget in self.chain():
                budget._check(usd, tokens)
            for budget in self.chain():
                budget._reserved_usd += usd
                budget._reserved_tokens += tokens
            return Reservation(self, usd, tokens)

    def settle(self, reservation: Reservation, usd: float, tokens: int) -> None:
        """Replace a reservation by the actual ``usd`` and ``tokens`` spent."""
        with self._lock:
            self._close(reservation)
            for budget in self.chain():
                budget._spent_usd += usd
                budget._spent_tokens += tokens

    def release(self, reservation: Reservation) -> None:
        """Drop a reservation without spending (the call failed before costing anything)."""
        with self._lock:
            self._close(reservation)

    def charge(self, usd: float, tokens: int) -> None:
        """Record spending that was not reserved (e.g. imported from another process)."""
        with self._lock:
            for budget in self.chain():
                budget._spent_usd += usd
                budget._spent_tokens += tokens

    def _check(self, usd: float, tokens: int) -> None:
        if self.max_usd is not None and self._spent_usd + self._reserved_usd + usd > self.max_usd:
            raise BudgetExceeded(self.name, self._spent_usd, self._reserved_usd + usd, self.max_usd)
        if (
            self.max_tokens is not None
            and self._spent_tokens + self._reserved_tokens + tokens > self.max_tokens
        ):
            raise BudgetExceeded(
                self.name,
                self._spent_tokens,
                self._reserved_tokens + tokens,
                self.max_tokens,
                unit="tokens",
            )

    def _close(self, reservation: Reservation) -> None:
        if not reservation.open:
            return
        reservation.open = False
        for budget in reservation.budget.chain():
            budget._reserved_usd -= reservation.usd
            budget._reserved_tokens -= reservation.tokens

    def __repr__(self) -> str:
        limit = f"{self.max_usd} USD" if self.max_usd is not None else "no USD limit"
        return f"Budget({self.name!r}, spent {self.spent_usd:.6g} USD, {limit})"


class CallLog:
    """Thread-safe, append-only list of :class:`CallRecord` with monotonically rising ``seq``.

    Args:
        sink: also called with each record as it is written (e.g. a JSONL writer).
    """

    def __init__(self, sink: Callable[[CallRecord], None] | None = None):
        self._records: list[CallRecord] = []
        self._sink = sink
        self._lock = threading.Lock()

    def write(self, **fields: object) -> CallRecord:
        """Append a record built from ``fields`` (``seq`` is assigned here)."""
        with self._lock:
            record = CallRecord(seq=len(self._records) + 1, **fields)
            self._records.append(record)
            if self._sink is not None:
                self._sink(record)
        return record

    def snapshot(self) -> list[CallRecord]:
        """A copy of the records so far."""
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


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
    """

    def __init__(
        self,
        inner: LanguageModel,
        budget: Budget | None = None,
        prices: Prices | None = None,
        on_record: CallLog | list[CallRecord] | Callable[[CallRecord], None] | None = None,
        clock: Callable[[], float] = time.time,
    ):
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

    @property
    def provider(self) -> str:
        return self.inner.provider

    def estimate(self, request: Request) -> tuple[float, int]:
        """Worst-case (USD, tokens) of ``request``: prompt estimate plus ``max_tokens``."""
        prompt = estimate_tokens("".join(m.content for m in request.messages))
        input_price, output_price = self._prices(request.model or "")
        usd = (prompt * input_price + request.max_tokens * output_price) / 1_000_000
        return usd, prompt + request.max_tokens

    def complete(self, request: Request) -> Completion:
        """Reserve, call, settle, record.

        Raises:
            BudgetExceeded: the reservation was refused; the inner model was not called.
        """
        base = {
            "action": request.action.value,
            "model": request.model or "default",
            "provider": self.inner.provider,
            "on_demand": request.on_demand,
        }
        usd, tokens = self.estimate(request)
        started_at = self._clock()
        try:
            reservation = self.budget.reserve(usd, tokens)
        except BudgetExceeded as error:
            self.log.write(**base, outcome="refused", error=str(error), started_at=started_at)
            raise
        started = time.perf_counter()
        try:
            completion = self.inner.complete(request)
        except BaseException as error:
            self.budget.release(reservation)
            if isinstance(error, LLMError):
                self.log.write(
                    **base,
                    outcome="error",
                    error=f"{type(error).__name__}: {error}"[:500],
                    latency_ms=(time.perf_counter() - started) * 1000,
                    started_at=started_at,
                )
            raise
        completion = self._priced(request, completion)
        self.budget.settle(reservation, completion.cost_usd, completion.usage.total_tokens)
        outcome, problem = "ok", None
        if request.output_schema is not None and not isinstance(
            completion.parsed, request.output_schema
        ):
            parsed, problems = parse_as(request.output_schema, completion.text)
            if parsed is None:
                outcome, problem = "invalid", "; ".join(problems)[:500]
        self.log.write(
            **{**base, "model": completion.model or base["model"]},
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            cost_usd=completion.cost_usd,
            latency_ms=completion.latency_ms or (time.perf_counter() - started) * 1000,
            outcome=outcome,
            error=problem,
            started_at=started_at,
            structured_mode=completion.structured_mode,
            refused_modes=completion.refused_modes,
        )
        return completion

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
