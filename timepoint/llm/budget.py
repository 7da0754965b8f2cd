"""Budgets: spending limits in USD and tokens, held in advance and settled after each call.

A :class:`Budget` tracks spent and reserved USD and tokens, optionally under a parent (a run's
budget under its batch's). A call first takes a :class:`Reservation` of its worst case, then
settles it at what it actually cost or releases it. Reservations are taken under one lock for
the whole budget tree, so concurrent calls never overshoot a hard limit as long as no call costs
more than it reserved; when one does, :meth:`Budget.overspend` marks the budget and every budget
above it, and every further reservation against them fails with :class:`BudgetOverspent`.
A budget may also carry token limits (:class:`TokenGuard`) that every attempt charged to it
must pass. How calls are priced and recorded is in :mod:`timepoint.llm.meter`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from timepoint.errors import BudgetExceeded, TimepointError
from timepoint.llm.base import Request


class BudgetOverspent(BudgetExceeded):
    """An endpoint reported more than a call reserved; the budget refuses every further call."""

    def __init__(self, budget: str, detail: str, spent: float, limit: float, unit: str = "USD"):
        TimepointError.__init__(
            self,
            f"{budget} budget overspent: {detail}; every further call of this run (and of its "
            "batch) is refused. The endpoint charged more than the request could cost at list "
            "price: check the model's prices in the registry (TIMEPOINT_LLM_REGISTRY) or raise "
            "TIMEPOINT_LLM_PRICE_MARGIN",
        )
        self.budget, self.spent, self.reserved, self.limit, self.unit = (
            budget,
            spent,
            0.0,
            limit,
            unit,
        )
        self.detail = detail


class TokenGuard(Protocol):
    """A token limit checked for every attempt (e.g. a run's ``fidelity.token_budget``)."""

    def admit(self, request: Request, reserve: int | None = None) -> int: ...

    def settle(self, reserve: int, tokens: int) -> str | None: ...

    def release(self, reserve: int) -> None: ...


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
        guards: token limits every attempt charged to this budget must also pass.
    """

    def __init__(
        self,
        name: str,
        max_usd: float | None = None,
        max_tokens: int | None = None,
        parent: Budget | None = None,
        guards: Sequence[TokenGuard] = (),
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
        self._overspent: str | None = None
        self.overshoot_usd = 0.0
        self.overshoot_tokens = 0
        #: token limits checked for every attempt charged to this budget
        self.guards: tuple[TokenGuard, ...] = tuple(guards)

    @property
    def overspent(self) -> str | None:
        """Why this budget refuses every further call (an endpoint charged more than a call
        reserved), or ``None``."""
        with self._lock:
            return self._overspent

    def overspend(self, detail: str, usd: float = 0.0, tokens: int = 0) -> None:
        """Record that a call cost ``usd``/``tokens`` more than it reserved: this budget and
        every parent refuse every further reservation."""
        with self._lock:
            for budget in self.chain():
                budget.overshoot_usd += usd
                budget.overshoot_tokens += tokens
                if budget._overspent is None:
                    budget._overspent = detail
                    budget._on_overspent(detail)

    def _on_overspent(self, detail: str) -> None:
        """Called once when this budget first becomes overspent (subclasses spread the word)."""

    def limits_usd(self) -> bool:
        """Whether this budget or a parent has a USD limit."""
        return any(b.max_usd is not None for b in self.chain())

    def limits_tokens(self) -> bool:
        """Whether this budget or a parent has a token limit."""
        return any(b.max_tokens is not None for b in self.chain())

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
        if self._overspent is not None:
            limit = self.max_usd if self.max_usd is not None else 0.0
            raise BudgetOverspent(self.name, self._overspent, self._spent_usd, limit)
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
