"""Token-budget modes: what a run does with ``fidelity.token_budget`` and ``budget_mode``.

- ``hard``: a limit that is never passed. Each attempt (first answer, re-ask, ``max_tokens``
  raise, retry and structured-output re-send alike) reserves its worst case (a conservative
  prompt count, one token per two ASCII characters, and ``max_tokens``; see
  :func:`~timepoint.llm.base.request_token_bound`) and is not made when the reservation could
  pass the budget: the run stops with :class:`~timepoint.errors.BudgetExceeded` (and a stored
  partial record). Before that, the simulation lowers fidelity (``Simulation.downgrade``)
  whenever the spend so far projects past the budget.
- ``soft``: guidance. Fidelity is lowered as for ``hard`` whenever the spend projects past the
  budget, and by one more level at every step once the budget is passed; each lowering and the
  passing itself are recorded as warnings. No call is ever refused for it and the run never
  stops for it: it completes, possibly over its budget, and says by how much.
- ``max_quality``: reports only; fidelity is never lowered and the run never stops for it.

The budget counts every token of every attempt of the run's calls (re-asks included, cache hits
free): the session's model stack installs it as a guard on the run's meter budget, so each
attempt is admitted and settled on its own. An endpoint that reports more tokens than an attempt
reserved overspends a ``hard`` budget: it then refuses every further call and the run fails
saying by how much.
"""

from __future__ import annotations

import math
import threading

from timepoint.errors import BudgetExceeded
from timepoint.llm.base import Request, request_token_bound
from timepoint.llm.budget import BudgetOverspent
from timepoint.scenario.schema import BudgetMode, Scenario
from timepoint.world.evidence import BudgetDowngrade, BudgetReport

#: The most levels a budget may lower planned resolutions by (trained → tensor only).
MAX_DOWNGRADE = 4
#: Levels a hard budget drops when what is left cannot cover the latest step's largest call.
HEADROOM_LEVELS = 2
#: how much larger the next step's largest call may be than the latest's (prompts grow as the
#: run's history does)
PEAK_GROWTH = 1.25


class TokenBudget:
    """Thread-safe token accounting for one run under one budget mode.

    Args:
        limit: the token budget.
        mode: ``hard``, ``soft`` or ``max_quality``.
        spent: tokens already spent under this budget (a question asked of a finished run is
            charged to the run's budget).
    """

    def __init__(self, limit: int, mode: BudgetMode, spent: int = 0):
        self.limit = limit
        self.mode = mode
        self._lock = threading.Lock()
        self._spent = spent
        self._inflight = 0
        self.calls = 0
        self.warnings: list[str] = []
        self._passed = False
        self.downgrades: list[BudgetDowngrade] = []
        self.refused: list[str] = []
        self._last_checkpoint: int | None = None
        self._peak = 0
        self.overspent: str | None = None

    @classmethod
    def from_scenario(cls, scenario: Scenario, spent: int = 0) -> TokenBudget | None:
        """The budget of ``scenario`` with ``spent`` tokens already used, or ``None`` when it
        sets no ``fidelity.token_budget``."""
        limit = scenario.fidelity.token_budget
        return cls(limit, scenario.fidelity.budget_mode, spent) if limit else None

    @property
    def name(self) -> str:
        return f"fidelity.token_budget ({self.mode.value})"

    @property
    def cap(self) -> int | None:
        """Tokens the run may not pass: the budget (hard); none (soft, max_quality)."""
        return self.limit if self.mode is BudgetMode.HARD else None

    @property
    def spent(self) -> int:
        with self._lock:
            return self._spent

    def admit(self, request: Request, reserve: int | None = None) -> int:
        """Reserve ``reserve`` tokens (default: the worst case of ``request``); returns the
        reservation.

        Raises:
            BudgetExceeded: the call could take the run past :attr:`cap`, or an earlier call
                overspent the budget; it is not made.
        """
        if reserve is None:
            reserve = request_token_bound(request) + request.max_tokens
        with self._lock:
            cap = self.cap
            if cap is not None and self.overspent is not None:
                raise BudgetOverspent(self.name, self.overspent, self._spent, cap, "tokens")
            if cap is not None and self._spent + self._inflight + reserve > cap:
                self.refused.append(
                    f"a {request.action.value} call needing up to {reserve} tokens was refused "
                    f"with {self._spent} of {cap} spent"
                )
                held = self._inflight + reserve
                raise BudgetExceeded(self.name, self._spent, held, cap, "tokens")
            self._inflight += reserve
            self._peak = max(self._peak, reserve)
        return reserve

    def settle(self, reserve: int, tokens: int) -> str | None:
        """Replace a reservation with the ``tokens`` actually spent; returns what overspent a
        ``hard`` budget (more tokens than reserved), which then refuses every further call."""
        note = None
        with self._lock:
            self._inflight -= reserve
            self._spent += tokens
            self.calls += 1
            if tokens > reserve and self.cap is not None:
                note = (
                    f"an attempt reserved {reserve} tokens and the endpoint reported {tokens} "
                    f"(over by {tokens - reserve}); {self.name}: {self._spent} of {self.cap} "
                    "spent"
                    + (f" (over by {self._spent - self.cap})" if self._spent > self.cap else "")
                )
                if self.overspent is None:
                    self.overspent = note
                self.refused.append(note)
            over = self._spent > self.limit
            if over and self.mode is not BudgetMode.HARD and not self._passed:
                self._passed = True
                self.warnings.append(
                    f"token budget {self.limit} passed ({self._spent} tokens spent, "
                    f"{self.mode.value} mode"
                    + (
                        ": fidelity lowered, the run goes on)"
                        if self.mode is BudgetMode.SOFT
                        else ", reported only)"
                    )
                )
        return note

    def release(self, reserve: int) -> None:
        """Drop a reservation whose call failed."""
        with self._lock:
            self._inflight -= reserve

    def downgrade_levels(self, steps_done: int, steps_total: int, level: int) -> int:
        """How many levels to lower fidelity by now (0: the budget is on course).

        Budgets look ahead: the projection is the spend now plus the cost of the latest step
        (at the fidelity then planned) times the steps left, and fidelity drops one level per
        25% of projected overrun; when what is left could not cover the largest call of the
        latest step, it drops at least two levels (below dialog). A soft budget also drops a
        level at every step once its limit is passed. ``steps_done`` counts the timepoints
        generated so far; ``level`` is the current downgrade.
        """
        room = MAX_DOWNGRADE - level
        if self.mode is BudgetMode.MAX_QUALITY or room <= 0:
            return 0
        spent = self.spent
        target = self.limit
        passed = int(self.mode is BudgetMode.SOFT and spent > self.limit)
        last, self._last_checkpoint = self._last_checkpoint, spent
        with self._lock:
            peak, self._peak = self._peak, 0
        if last is None:
            levels = int(spent > self.limit)
            if self.mode is BudgetMode.HARD and target - spent < peak * PEAK_GROWTH:
                levels = max(levels, HEADROOM_LEVELS)
            return min(room, levels)
        levels = 0
        projected = spent + (spent - last) * max(0, steps_total - steps_done)
        if projected > target:
            levels = max(1, math.ceil((projected / target - 1) / 0.25))
        if target - spent < peak * PEAK_GROWTH:
            levels = max(levels, HEADROOM_LEVELS)
        return min(room, max(levels, passed))

    def note_downgrade(self, level: int, timepoint: str) -> None:
        """Remember that fidelity was lowered to ``level`` before ``timepoint`` was planned (a
        soft budget also warns)."""
        spent = self.spent
        self.downgrades.append(BudgetDowngrade(level=level, before=timepoint, spent=spent))
        if self.mode is BudgetMode.SOFT:
            self.warnings.append(
                f"fidelity lowered {level} level(s) before {timepoint}: {spent} of {self.limit} "
                "tokens spent (soft budget: guidance, the run goes on)"
            )

    def report(self) -> BudgetReport:
        """What the run record keeps: limit, mode, spend, warnings, downgrades, refused calls."""
        spent = self.spent
        return BudgetReport(
            limit=self.limit,
            mode=self.mode.value,
            cap=self.cap,
            spent=spent,
            used_share=round(spent / self.limit, 4),
            over_budget=spent > self.limit,
            calls=self.calls,
            warnings=list(self.warnings),
            downgrades=list(self.downgrades),
            refused=list(self.refused),
            overspent=self.overspent,
        )
