"""Cost estimates before a batch runs: a rehearsal of each configuration × registry prices.

Each distinct configuration of a batch (seeds and replicates merged) is **rehearsed**: run with the
offline model in a throwaway folder, once with each of :data:`REHEARSAL_SEEDS`, so its calls and
their tokens are measured on the prompts the engine really builds — the prose with its fenced JSON
block, the rolling history summary (M7: the first events of a chain summarized every ``m7.every``
timepoints, the last ``m7.recent`` quoted, plus the ``summarization`` calls that write those
summaries), mode expansions (portal candidates, branches, cycles) and vertical expansion alike.
Seeds change what the model writes and so how much later prompts carry; the rehearsal seeds are
fixed, so a configuration has one estimate whichever of its seeds comes first. A rehearsal costs
what an offline run of the configuration costs (a fraction of a second for the library's scenarios)
and calls no endpoint.

The measured tokens are priced per action with the model the gateway would choose. The range
allows for a real model answering differently from the offline one, and for other seeds:

- ``low``: per action, the smaller rehearsal's prompts at :data:`PROMPT_LOW` and answers at
  :data:`COMPLETION_LOW`;
- ``expected`` (the midpoint): the mean of the rehearsals;
- ``high``: per action, the larger rehearsal's prompts at :data:`PROMPT_HIGH` and answers at
  :data:`COMPLETION_HIGH` (later prompts quote earlier answers, so longer answers make longer
  prompts).

``benchmarks/estimate_accuracy.py`` checks the range against runs of the library's scenarios
with seeds other than the rehearsal's. The **ceiling** (``usd_ceiling``) is the worst case a
job's cap is taken from when no cap is given: 50% more calls (retries and re-asks), prompts
50% longer and every answer as long as ``max_tokens``, at the most expensive model of each
action's fallback chain.

A configuration that cannot be rehearsed (it fails offline) falls back to a count from its
structure (:func:`~timepoint.batch.call_count.call_range`) at typical tokens per action
(:data:`TYPICAL_TOKENS`).

Runs with the offline model cost nothing, so their estimate is zero dollars (calls and tokens
are still shown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from timepoint.batch.call_count import MODE_MULTIPLIERS, call_range
from timepoint.batch.pricing import Pricer
from timepoint.batch.rehearsal import rehearse
from timepoint.batch.spec import ScenarioLoader, iter_specs, resolved_scenario
from timepoint.engine.session import environment
from timepoint.llm.base import ActionType, LanguageModel
from timepoint.llm.registry import Registry
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings

#: typical (prompt, completion) tokens and max_tokens of one call per action
TYPICAL_TOKENS: dict[ActionType, tuple[int, int, int]] = {
    ActionType.ENTITY_POPULATION: (450, 350, 600),
    ActionType.TEMPORAL_REASONING: (700, 250, 500),
    ActionType.DIALOG_SYNTHESIS: (1400, 900, 1200),
    ActionType.SCENE_GENERATION: (700, 400, 800),
    ActionType.RELATIONSHIP_ANALYSIS: (700, 300, 600),
    ActionType.PROSPECTION: (800, 400, 800),
    ActionType.ANIMISTIC_BEHAVIOR: (600, 300, 600),
    ActionType.SUMMARIZATION: (900, 250, 400),
}
DEFAULT_TOKENS = (800, 400, 1024)

#: the range around a rehearsal, as factors on its prompt and completion tokens
PROMPT_LOW, PROMPT_HIGH = 0.85, 1.2
COMPLETION_LOW, COMPLETION_HIGH = 0.6, 1.6
#: the seeds every configuration is rehearsed with (seeds change what the model writes, and so
#: how many entities plan, which events animate objects, how long the history grows)
REHEARSAL_SEEDS = (0, 1000)
#: the range of a structural estimate (no rehearsal), as a share of the typical tokens
LOW_TOKEN_SHARE = 0.6
#: the ceiling: more calls (retries, re-asks) and longer prompts than planned
HIGH_CALL_FACTOR = 1.5
HIGH_PROMPT_FACTOR = 1.5


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActionEstimate(Frozen):
    """Planned calls of one action in one job, their tokens and cost range in USD.

    ``tokens`` is the expected number (prompt and completion), ``tokens_low``–``tokens_high``
    its range; ``usd_ceiling`` is the worst case (see the module docstring).
    """

    action: str
    calls: float
    model: str
    tokens: int
    tokens_low: int = 0
    tokens_high: int = 0
    usd_low: float
    usd_expected: float
    usd_high: float
    usd_ceiling: float = 0.0


class ScenarioEstimate(Frozen):
    """The estimate of one job of a resolved scenario configuration."""

    scenario_id: str
    mode: str
    multiplier: float
    jobs: int = 1
    calls: float
    tokens: int
    tokens_low: int = 0
    tokens_high: int = 0
    usd_low: float
    usd_expected: float
    usd_high: float
    usd_ceiling: float = 0.0
    source: str = "rehearsal"
    actions: list[ActionEstimate]


class BatchEstimate(Frozen):
    """What a batch is expected to cost before it runs.

    Attributes:
        jobs: jobs in the batch.
        calls: planned LLM calls in all.
        tokens: expected tokens in all; ``tokens_low``–``tokens_high`` their range.
        usd_low / usd_expected / usd_high: the cost range of the batch in USD (``expected`` is
            the midpoint); ``usd_ceiling`` its worst case.
        provider: the provider the jobs would use; ``offline`` costs nothing.
        configurations: one estimate per distinct configuration (seeds and replicates merged).
    """

    jobs: int
    calls: float
    tokens: int
    tokens_low: int = 0
    tokens_high: int = 0
    usd_low: float
    usd_expected: float
    usd_high: float
    usd_ceiling: float = 0.0
    provider: str
    configurations: list[ScenarioEstimate]

    def describe(self) -> str:
        """A few lines for the command line."""
        lines = [
            f"{self.jobs} jobs, ~{self.calls:,.0f} LLM calls, {self.tokens_low:,} – "
            f"{self.tokens_high:,} tokens (typical {self.tokens:,}; provider: {self.provider})",
            f"estimated cost: ${self.usd_low:.4f} – ${self.usd_high:.4f} "
            f"(typical ${self.usd_expected:.4f}; at most ${self.usd_ceiling:.4f})",
        ]
        for config in self.configurations[:8]:
            actions = ", ".join(f"{a.action} {a.calls:g}×{a.model}" for a in config.actions)
            how = "rehearsed" if config.source == "rehearsal" else f"×{config.multiplier:g}"
            lines.append(
                f"  {config.scenario_id} ({config.mode}, {how}): {config.jobs} "
                f"jobs × {config.calls:g} calls, ${config.usd_low:.4f}–${config.usd_high:.4f} "
                f"per job [{actions}]"
            )
        if len(self.configurations) > 8:
            lines.append(f"  … and {len(self.configurations) - 8} more configurations")
        return "\n".join(lines)


def _action(value: str) -> ActionType | None:
    try:
        return ActionType(value)
    except ValueError:
        return None


def estimate_scenario(
    scenario: Scenario, pricer: Pricer, settings: Settings | None = None
) -> ScenarioEstimate:
    """The estimate of one run of ``scenario``: rehearsed with ``settings`` (see the module
    docstring), or from its structure without them or when no rehearsal can run."""
    runs = [rehearse(scenario, settings, s) for s in REHEARSAL_SEEDS] if settings else []
    measured = [r for r in runs if r is not None]
    if not measured:
        return _structural(scenario, pricer)
    actions = []
    for name in sorted({a for r in measured for a in r}):
        seen = [r.get(name, (0, 0, 0)) for r in measured]
        calls, prompt, completion = (round(sum(v) / len(seen)) for v in zip(*seen, strict=True))
        prompt_low, completion_low = min(s[1] for s in seen), min(s[2] for s in seen)
        prompt_high, completion_high = max(s[1] for s in seen), max(s[2] for s in seen)
        calls_high = max(s[0] for s in seen)
        action = _action(name)
        chain = pricer.chain(scenario, action) if action is not None else []
        model = chain[0] if chain else "unknown"
        max_tokens = TYPICAL_TOKENS.get(action, DEFAULT_TOKENS)[2] if action else DEFAULT_TOKENS[2]
        ceiling = max(
            (
                pricer.usd(m, prompt_high * HIGH_PROMPT_FACTOR, calls_high * max_tokens)
                * HIGH_CALL_FACTOR
                for m in chain
            ),
            default=0.0,
        )
        actions.append(
            ActionEstimate(
                action=name,
                calls=calls,
                model=model,
                tokens=prompt + completion,
                tokens_low=round(prompt_low * PROMPT_LOW + completion_low * COMPLETION_LOW),
                tokens_high=round(prompt_high * PROMPT_HIGH + completion_high * COMPLETION_HIGH),
                usd_low=pricer.usd(model, prompt_low * PROMPT_LOW, completion_low * COMPLETION_LOW),
                usd_expected=pricer.usd(model, prompt, completion),
                usd_high=pricer.usd(
                    model, prompt_high * PROMPT_HIGH, completion_high * COMPLETION_HIGH
                ),
                usd_ceiling=ceiling,
            )
        )
    return _scenario_estimate(scenario, actions, "rehearsal")


def _scenario_estimate(
    scenario: Scenario, actions: list[ActionEstimate], source: str
) -> ScenarioEstimate:
    mode = scenario.temporal.mode.value
    return ScenarioEstimate(
        scenario_id=scenario.id,
        mode=mode,
        multiplier=MODE_MULTIPLIERS.get(mode, 1.0),
        calls=sum(a.calls for a in actions),
        tokens=sum(a.tokens for a in actions),
        tokens_low=sum(a.tokens_low for a in actions),
        tokens_high=sum(a.tokens_high for a in actions),
        usd_low=sum(a.usd_low for a in actions),
        usd_expected=sum(a.usd_expected for a in actions),
        usd_high=sum(a.usd_high for a in actions),
        usd_ceiling=sum(a.usd_ceiling for a in actions),
        source=source,
        actions=actions,
    )


def _structural(scenario: Scenario, pricer: Pricer) -> ScenarioEstimate:
    """Calls counted from the structure (:func:`call_range`) at typical tokens per action."""
    actions = []
    for action, (calls, most) in call_range(scenario).items():
        prompt, completion, max_tokens = TYPICAL_TOKENS.get(action, DEFAULT_TOKENS)
        chain = pricer.chain(scenario, action)
        model = chain[0]
        ceiling = max(pricer.usd(m, prompt * HIGH_PROMPT_FACTOR, max_tokens) for m in chain) * (
            most * HIGH_CALL_FACTOR
        )
        actions.append(
            ActionEstimate(
                action=action.value,
                calls=calls,
                model=model,
                tokens=round(calls * (prompt + completion)),
                tokens_low=round(calls * (prompt + completion) * LOW_TOKEN_SHARE),
                tokens_high=round(
                    most * HIGH_CALL_FACTOR * (prompt * HIGH_PROMPT_FACTOR + max_tokens)
                ),
                usd_low=calls
                * pricer.usd(model, prompt * LOW_TOKEN_SHARE, completion * LOW_TOKEN_SHARE),
                usd_expected=calls * pricer.usd(model, prompt, completion),
                usd_high=ceiling,
                usd_ceiling=ceiling,
            )
        )
    return _scenario_estimate(scenario, actions, "structure")


def structure_key(scenario: Scenario) -> str:
    """The configuration of ``scenario`` without its seed (seeds do not change the estimate)."""
    return scenario.model_copy(update={"seed": 0}).config_hash


class Estimator:
    """Estimates jobs one at a time, once per distinct configuration."""

    def __init__(self, settings: Settings, provider: str, *, rehearse: bool = True):
        registry = Registry.load(settings.registry_path)
        self.settings = settings if rehearse else None
        self.provider = provider
        self.pricer = Pricer(settings, registry, free=provider == "offline")
        self._by_key: dict[str, ScenarioEstimate] = {}
        self._jobs: dict[str, int] = {}

    def per_job(self, scenario: Scenario) -> ScenarioEstimate:
        """The estimate of one job of ``scenario`` (computed once per configuration)."""
        key = structure_key(scenario)
        if key not in self._by_key:
            self._by_key[key] = estimate_scenario(scenario, self.pricer, self.settings)
            self._jobs[key] = 0
        return self._by_key[key]

    def add(self, scenario: Scenario) -> ScenarioEstimate:
        """Count one job of ``scenario``; returns its per-job estimate."""
        estimate = self.per_job(scenario)
        self._jobs[structure_key(scenario)] += 1
        return estimate

    def result(self) -> BatchEstimate:
        configs = [
            estimate.model_copy(update={"jobs": self._jobs[key]})
            for key, estimate in self._by_key.items()
            if self._jobs[key]
        ]
        return BatchEstimate(
            jobs=sum(c.jobs for c in configs),
            calls=sum(c.calls * c.jobs for c in configs),
            tokens=sum(c.tokens * c.jobs for c in configs),
            tokens_low=sum(c.tokens_low * c.jobs for c in configs),
            tokens_high=sum(c.tokens_high * c.jobs for c in configs),
            usd_low=sum(c.usd_low * c.jobs for c in configs),
            usd_expected=sum(c.usd_expected * c.jobs for c in configs),
            usd_high=sum(c.usd_high * c.jobs for c in configs),
            usd_ceiling=sum(c.usd_ceiling * c.jobs for c in configs),
            provider=self.provider,
            configurations=configs,
        )


def provider_label(settings: Settings, model: Callable[[], LanguageModel] | None) -> str:
    """The provider label the jobs of a batch would report."""
    if model is not None:
        return model().provider
    return "offline" if settings.offline else "openai-compatible"


def estimate_batch(
    configs: Iterable[Any],
    *,
    settings: Settings | None = None,
    model: Callable[[], LanguageModel] | None = None,
) -> BatchEstimate:
    """Estimate the calls, tokens and cost of a batch before running it.

    Args:
        configs: specs, e.g. from :func:`~timepoint.batch.spec.expand_grid`.
        settings: environment settings (registry, forced model, API key); default from env.
        model: the model factory the batch would use (its provider decides whether calls are
            priced; ``offline`` is free).

    Example:
        >>> specs = tp.expand_grid(path, {"seed": range(20)})  # doctest: +SKIP
        >>> print(tp.estimate_batch(specs).describe())  # doctest: +SKIP
    """
    settings = environment(settings)
    estimator = Estimator(settings, provider_label(settings, model))
    loader = ScenarioLoader()
    for spec in iter_specs(configs, loader):
        estimator.add(resolved_scenario(spec, loader))
    return estimator.result()
