"""Cost estimates before a batch runs: planned calls per scenario × registry prices.

The planned calls of a scenario come from its structure:

- ``entity_population``: one call per roster entry the model has to complete (entries that
  lack a name, description, traits or knowledge and have no profile file; generated entries up
  to ``entities.count``), background entities excepted;
- per timepoint (sub-moments of vertical expansion included): one ``temporal_reasoning`` call,
  one ``dialog_synthesis`` call (M11), one ``prospection`` call per planning entity (M15: roster
  ``plans: true``, listed in the ``m15`` settings by id or role, or with the planning trait; an
  entity whose traits the model writes may become one, which the high end allows for) and one
  ``animistic_behavior`` call per non-human entity when ``entities.animism`` > 0 (M16);
- the per-timepoint part is scaled by the mode's complexity multiplier (pearl 1.0, directorial
  1.2, nonlinear 1.3, branching 1.4, cyclical 1.3, portal 1.5);
- one ``summarization`` call for the executive summary of the run.

Mechanisms that compute without the model (scenes, circadian, relationships, validators) add
nothing. The count is exact for forward (pearl) runs of the offline model and a planning figure
for the other modes.

Each call is priced with the model the gateway would choose for its action. The range:

- ``low``: the planned calls with lean answers (60% of the typical tokens) at the chosen model;
- ``expected``: the planned calls with typical tokens at the chosen model;
- ``high``: 50% more calls (retries and re-asks), prompts 50% longer and every answer as long as
  ``max_tokens``, at the most expensive model of the action's fallback chain.

Runs with the offline model cost nothing, so their estimate is zero dollars (calls and tokens
are still shown).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from timepoint.batch.spec import ScenarioLoader, iter_specs, resolved_scenario
from timepoint.llm.base import ActionType, LanguageModel
from timepoint.llm.registry import Registry
from timepoint.scenario.schema import Scenario
from timepoint.settings import Settings

#: mode complexity multipliers applied to the per-timepoint calls
MODE_MULTIPLIERS = {
    "pearl": 1.0,
    "directorial": 1.2,
    "nonlinear": 1.3,
    "branching": 1.4,
    "cyclical": 1.3,
    "portal": 1.5,
}

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

LOW_TOKEN_SHARE = 0.6
HIGH_CALL_FACTOR = 1.5
HIGH_PROMPT_FACTOR = 1.5


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActionEstimate(Frozen):
    """Planned calls of one action in one job, and their cost range in USD."""

    action: str
    calls: float
    model: str
    tokens: int
    usd_low: float
    usd_expected: float
    usd_high: float


class ScenarioEstimate(Frozen):
    """The estimate of one job of a resolved scenario configuration."""

    scenario_id: str
    mode: str
    multiplier: float
    jobs: int = 1
    calls: float
    tokens: int
    usd_low: float
    usd_expected: float
    usd_high: float
    actions: list[ActionEstimate]


class BatchEstimate(Frozen):
    """What a batch is expected to cost before it runs.

    Attributes:
        jobs: jobs in the batch.
        calls: planned LLM calls in all.
        tokens: typical tokens in all.
        usd_low / usd_expected / usd_high: the cost range of the batch in USD.
        provider: the provider the jobs would use; ``offline`` costs nothing.
        configurations: one estimate per distinct configuration (seeds and replicates merged).
    """

    jobs: int
    calls: float
    tokens: int
    usd_low: float
    usd_expected: float
    usd_high: float
    provider: str
    configurations: list[ScenarioEstimate]

    def describe(self) -> str:
        """A few lines for the command line."""
        lines = [
            f"{self.jobs} jobs, ~{self.calls:,.0f} LLM calls, ~{self.tokens:,} tokens "
            f"(provider: {self.provider})",
            f"estimated cost: ${self.usd_low:.4f} – ${self.usd_high:.4f} "
            f"(typical ${self.usd_expected:.4f})",
        ]
        for config in self.configurations[:8]:
            actions = ", ".join(f"{a.action} {a.calls:g}×{a.model}" for a in config.actions)
            lines.append(
                f"  {config.scenario_id} ({config.mode} ×{config.multiplier:g}): {config.jobs} "
                f"jobs × {config.calls:g} calls, ${config.usd_low:.4f}–${config.usd_high:.4f} "
                f"per job [{actions}]"
            )
        if len(self.configurations) > 8:
            lines.append(f"  … and {len(self.configurations) - 8} more configurations")
        return "\n".join(lines)


def planned_calls(scenario: Scenario) -> dict[ActionType, float]:
    """Planned calls per action of one run of ``scenario`` (see the module docstring)."""
    return {action: expected for action, (expected, _) in call_range(scenario).items()}


def call_range(scenario: Scenario) -> dict[ActionType, tuple[float, float]]:
    """(planned, most) calls per action of one run of ``scenario``.

    The two differ where the model decides: an entity the model populates may turn out to be a
    planner (M15 by trait), so it counts towards the most but not the planned calls.
    """
    from timepoint.synthesis.population import roster_with_generated
    from timepoint.world import EntityKind, EntityRole

    roster = roster_with_generated(scenario)
    mechanisms = scenario.mechanisms
    populated = [
        entry
        for entry in roster
        if entry.role is not EntityRole.BACKGROUND
        and not entry.profile
        and not all(
            entry.model_dump(exclude_defaults=True).get(k)
            for k in ("name", "description", "traits", "knowledge")
        )
    ]
    calls: dict[ActionType, tuple[float, float]] = {}
    if populated:
        calls[ActionType.ENTITY_POPULATION] = (len(populated), len(populated))
    tps = scenario.timepoints
    sub_moments = tps.before + tps.after
    expanded = len(tps.expand) if tps.expand else (1 if sub_moments else 0)
    timepoints = (tps.count + sub_moments * expanded) * MODE_MULTIPLIERS.get(
        scenario.temporal.mode.value, 1.0
    )
    per_timepoint = {ActionType.TEMPORAL_REASONING: (1, 1)}
    if mechanisms.enabled("m11"):
        per_timepoint[ActionType.DIALOG_SYNTHESIS] = (1, 1)
    if mechanisms.enabled("m15"):
        planners, possible = _planners(scenario, roster, {e.id for e in populated})
        if possible:
            per_timepoint[ActionType.PROSPECTION] = (planners, possible)
    if mechanisms.enabled("m16") and scenario.entities.animism > 0:
        animated = sum(r.kind is not EntityKind.HUMAN for r in roster)
        if animated:
            per_timepoint[ActionType.ANIMISTIC_BEHAVIOR] = (animated, animated)
    for action, (planned, most) in per_timepoint.items():
        calls[action] = (planned * timepoints, most * timepoints)
    calls[ActionType.SUMMARIZATION] = (1, 1)
    return calls


def _planners(scenario: Scenario, roster: list, populated: set[str]) -> tuple[int, int]:
    """(certain, possible) planners: flagged, listed or with the trait; plus, for the possible
    count, entities whose traits the model will write."""
    from timepoint.kernel.mechanism_settings import read_settings
    from timepoint.synthesis.prospection import ProspectionSettings

    config = read_settings(scenario, "m15", ProspectionSettings)
    certain = possible = 0
    for entry in roster:
        threshold = config.trait_threshold
        trait = entry.traits.get(config.trait)
        sure = (
            entry.plans
            or entry.id in config.entities
            or entry.role.value in config.roles
            or (threshold is not None and trait is not None and trait >= threshold)
        )
        maybe = threshold is not None and trait is None and entry.id in populated
        certain += bool(sure)
        possible += bool(sure or maybe)
    return certain, possible


class Pricer:
    """Prices per action for a scenario's models section, the way the gateway would choose."""

    def __init__(self, settings: Settings, registry: Registry, free: bool):
        self.settings = settings
        self.registry = registry
        self.free = free
        self._chains: dict[str, dict[ActionType, list[str]]] = {}

    def chain(self, scenario: Scenario, action: ActionType) -> list[str]:
        key = json.dumps(scenario.models.model_dump(mode="json"), sort_keys=True)
        if key not in self._chains:
            from timepoint.llm.gateway import ModelGateway
            from timepoint.llm.testing import ScriptedModel

            gateway = ModelGateway(
                ScriptedModel(),
                registry=self.registry,
                models=scenario.models,
                forced_model=self.settings.model,
            )
            self._chains[key] = {a: gateway.chain(a)[0] for a in ActionType}
        return self._chains[key][action]

    def usd(self, model: str, prompt: float, completion: float) -> float:
        if self.free:
            return 0.0
        input_price, output_price = self.registry.prices(model)
        return (prompt * input_price + completion * output_price) / 1_000_000


def estimate_scenario(scenario: Scenario, pricer: Pricer) -> ScenarioEstimate:
    """The estimate of one run of ``scenario``."""
    actions = []
    for action, (calls, most) in call_range(scenario).items():
        prompt, completion, max_tokens = TYPICAL_TOKENS.get(action, DEFAULT_TOKENS)
        chain = pricer.chain(scenario, action)
        model = chain[0]
        high = max(pricer.usd(m, prompt * HIGH_PROMPT_FACTOR, max_tokens) for m in chain) * (
            most * HIGH_CALL_FACTOR
        )
        actions.append(
            ActionEstimate(
                action=action.value,
                calls=calls,
                model=model,
                tokens=round(calls * (prompt + completion)),
                usd_low=calls
                * pricer.usd(model, prompt * LOW_TOKEN_SHARE, completion * LOW_TOKEN_SHARE),
                usd_expected=calls * pricer.usd(model, prompt, completion),
                usd_high=high,
            )
        )
    mode = scenario.temporal.mode.value
    return ScenarioEstimate(
        scenario_id=scenario.id,
        mode=mode,
        multiplier=MODE_MULTIPLIERS.get(mode, 1.0),
        calls=sum(a.calls for a in actions),
        tokens=sum(a.tokens for a in actions),
        usd_low=sum(a.usd_low for a in actions),
        usd_expected=sum(a.usd_expected for a in actions),
        usd_high=sum(a.usd_high for a in actions),
        actions=actions,
    )


def structure_key(scenario: Scenario) -> str:
    """The configuration of ``scenario`` without its seed (seeds do not change the estimate)."""
    return scenario.model_copy(update={"seed": 0}).config_hash


class Estimator:
    """Estimates jobs one at a time, once per distinct configuration."""

    def __init__(self, settings: Settings, provider: str):
        registry = Registry.load(settings.registry_path)
        self.provider = provider
        self.pricer = Pricer(settings, registry, free=provider == "offline")
        self._by_key: dict[str, ScenarioEstimate] = {}
        self._jobs: dict[str, int] = {}

    def per_job(self, scenario: Scenario) -> ScenarioEstimate:
        """The estimate of one job of ``scenario`` (computed once per configuration)."""
        key = structure_key(scenario)
        if key not in self._by_key:
            self._by_key[key] = estimate_scenario(scenario, self.pricer)
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
            usd_low=sum(c.usd_low * c.jobs for c in configs),
            usd_expected=sum(c.usd_expected * c.jobs for c in configs),
            usd_high=sum(c.usd_high * c.jobs for c in configs),
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
    settings = settings or Settings.from_env()
    estimator = Estimator(settings, provider_label(settings, model))
    loader = ScenarioLoader()
    for spec in iter_specs(configs, loader):
        estimator.add(resolved_scenario(spec, loader))
    return estimator.result()
