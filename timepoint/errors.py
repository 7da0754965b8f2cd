"""Every error Timepoint raises on purpose.

Hierarchy::

    TimepointError
    ├── ScenarioError            a scenario file or object is invalid (lists every problem)
    ├── ConfigurationError       settings or environment are inconsistent
    ├── LLMError                 anything the language-model layer could not do
    │   ├── ProviderError        the endpoint answered with an error (carries the HTTP status)
    │   │   ├── AuthenticationError   401/403: the key is missing or wrong
    │   │   ├── CreditExhausted       402: the account is out of credit; stops runs and batches
    │   │   └── ContextLengthExceeded the prompt does not fit the model's context window
    │   ├── StructuredOutputError  the answer never matched the requested schema
    │   └── UnknownModelError      a model id that the registry does not know
    ├── BudgetExceeded           a call or job would pass a hard budget (names budget and figures)
    ├── SimulationError          a run failed at a named step
    ├── RestoreError             a stored run cannot be turned back into a world
    ├── BranchError              a branch point or intervention does not fit the run
    ├── StoreError               the run store could not read or write
    │   └── RunNotFound          no run with that id
    ├── BatchError               a batch definition or execution problem
    ├── ReportError              a report, chart or site could not be built
    └── CalibrationError         forecasting, resolving or scoring questions went wrong
        ├── QuestionSetError     a question-set file is invalid (lists every problem)
        └── ConnectorError       a market or forecasting site answered badly (carries status)

Messages say what was received, what is allowed, and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class TimepointError(Exception):
    """Base class of every deliberate Timepoint error."""


class ScenarioError(TimepointError):
    """A scenario is invalid. ``problems`` holds one human-readable line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ConfigurationError(TimepointError):
    """Settings or environment variables are inconsistent."""


class LLMError(TimepointError):
    """The language-model layer could not complete a request."""


class ProviderError(LLMError):
    """The endpoint answered with an error status."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class AuthenticationError(ProviderError):
    """The endpoint refused the credentials (401/403)."""


class CreditExhausted(ProviderError):
    """The account behind the key has no credit left (402)."""


class ContextLengthExceeded(ProviderError):
    """The request does not fit in the model's context window."""


class StructuredOutputError(LLMError):
    """The model's answers never validated against the requested schema."""


class UnknownModelError(LLMError):
    """A model id the registry does not know."""

    def __init__(self, model_id: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(model_id, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        super().__init__(f"no model {model_id!r}{hint} known: {', '.join(known)}")
        self.model_id = model_id


class BudgetExceeded(TimepointError):
    """A call would pass a hard budget; it was not made."""

    def __init__(self, budget: str, spent: float, reserved: float, limit: float, unit: str = "USD"):
        self.budget, self.spent, self.reserved, self.limit, self.unit = (
            budget,
            spent,
            reserved,
            limit,
            unit,
        )
        super().__init__(
            f"{budget} budget exceeded: spent {spent:.6g} {unit}, reserved {reserved:.6g} {unit}, "
            f"limit {limit:.6g} {unit}; raise the limit or lower the fidelity"
        )


class SimulationError(TimepointError):
    """A run failed at a named step."""

    def __init__(self, step: str, message: str):
        self.step = step
        super().__init__(f"step {step!r}: {message}")


class RestoreError(TimepointError):
    """A record cannot be turned back into a world: unknown timeline, or no scenario at hand."""


class BranchError(TimepointError):
    """A branch point or an intervention does not fit the run."""


class StoreError(TimepointError):
    """The run store could not read or write."""


class RunNotFound(StoreError):
    """No run with the given id exists in the store."""


class BatchError(TimepointError):
    """A batch definition or execution problem."""


class ReportError(TimepointError):
    """A narrative, chart or site could not be built."""


class CalibrationError(TimepointError):
    """Forecasting, resolving or scoring questions went wrong."""


class QuestionSetError(CalibrationError):
    """A question set is invalid. ``problems`` holds one human-readable line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ConnectorError(CalibrationError):
    """A connector's source answered with an error or a payload it cannot read."""

    def __init__(self, message: str, status: int | None = None):
        self.status = status
        super().__init__(message)
