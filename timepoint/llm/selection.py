"""Action → model selection (M18).

Each :class:`~timepoint.llm.base.ActionType` declares required and preferred capabilities and a
minimum context window. :func:`select` filters the registry by those requirements and the
license policy, scores what is left by preferred capabilities plus the run's preference, and
breaks ties by id. Every score component lies in [0, 1], so a free model cannot win through a
division by its price.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from timepoint.errors import ConfigurationError
from timepoint.llm.base import ActionType
from timepoint.llm.config import Preference
from timepoint.llm.registry import Capability, ModelSpec, Registry
from timepoint.world.record import ModelChoice

C = Capability


@dataclass(frozen=True)
class ActionRequirements:
    """What an action needs (``required``), likes (``preferred``, in order) and fits in."""

    required: frozenset[Capability]
    preferred: tuple[Capability, ...]
    min_context: int = 8_000


def _req(
    required: set[Capability], preferred: tuple[Capability, ...], ctx: int = 8_000
) -> ActionRequirements:
    return ActionRequirements(frozenset(required), preferred, ctx)


REQUIREMENTS: dict[ActionType, ActionRequirements] = {
    ActionType.ENTITY_POPULATION: _req(
        {C.STRUCTURED_JSON}, (C.CREATIVE, C.INSTRUCTION_FOLLOWING, C.LONG_FORM)
    ),
    ActionType.DIALOG_SYNTHESIS: _req(
        {C.STRUCTURED_JSON, C.DIALOG}, (C.CREATIVE, C.LONG_FORM, C.HIGH_QUALITY), 16_000
    ),
    ActionType.TEMPORAL_REASONING: _req(
        {C.STRUCTURED_JSON, C.TEMPORAL}, (C.CAUSAL, C.LOGICAL, C.ANALYTICAL), 16_000
    ),
    ActionType.COUNTERFACTUAL_PREDICTION: _req(
        {C.STRUCTURED_JSON, C.CAUSAL}, (C.TEMPORAL, C.ANALYTICAL, C.HIGH_QUALITY), 16_000
    ),
    ActionType.KNOWLEDGE_VALIDATION: _req({C.STRUCTURED_JSON}, (C.LOGICAL, C.ANALYTICAL, C.FAST)),
    ActionType.KNOWLEDGE_EXTRACTION: _req(
        {C.STRUCTURED_JSON}, (C.ANALYTICAL, C.INSTRUCTION_FOLLOWING, C.FAST, C.CHEAP)
    ),
    ActionType.SCENE_GENERATION: _req({C.STRUCTURED_JSON}, (C.CREATIVE, C.LONG_FORM)),
    ActionType.RELATIONSHIP_ANALYSIS: _req(
        {C.STRUCTURED_JSON}, (C.ANALYTICAL, C.DIALOG, C.LOGICAL)
    ),
    ActionType.PROSPECTION: _req(
        {C.STRUCTURED_JSON, C.TEMPORAL}, (C.CAUSAL, C.LOGICAL, C.ANALYTICAL)
    ),
    ActionType.ANIMISTIC_BEHAVIOR: _req({C.STRUCTURED_JSON, C.CREATIVE}, (C.LONG_FORM, C.DIALOG)),
    ActionType.PORTAL_BACKWARD_REASONING: _req(
        {C.STRUCTURED_JSON, C.CAUSAL, C.TEMPORAL},
        (C.HIGH_QUALITY, C.LOGICAL, C.LARGE_CONTEXT),
        32_000,
    ),
    ActionType.PORTAL_PATH_SCORING: _req(
        {C.STRUCTURED_JSON}, (C.ANALYTICAL, C.LOGICAL, C.FAST), 16_000
    ),
    ActionType.CONFIG_GENERATION: _req(
        {C.STRUCTURED_JSON, C.INSTRUCTION_FOLLOWING}, (C.HIGH_QUALITY, C.CREATIVE)
    ),
    ActionType.SUMMARIZATION: _req({C.LONG_FORM}, (C.LARGE_CONTEXT, C.FAST, C.CHEAP), 32_000),
    ActionType.RELEVANCE_SCORING: _req({C.STRUCTURED_JSON}, (C.FAST, C.CHEAP), 4_000),
    ActionType.OUTCOME_JUDGEMENT: _req({C.STRUCTURED_JSON}, (C.LOGICAL, C.ANALYTICAL), 16_000),
    ActionType.GENERAL: _req(set(), (C.INSTRUCTION_FOLLOWING,), 4_000),
}

#: weights of (preferred capabilities, quality, speed, cost) per preference; each row sums to 1
WEIGHTS: dict[Preference, tuple[float, float, float, float]] = {
    Preference.QUALITY: (0.35, 0.55, 0.05, 0.05),
    Preference.SPEED: (0.25, 0.15, 0.50, 0.10),
    Preference.COST: (0.25, 0.15, 0.10, 0.50),
    Preference.BALANCED: (0.35, 0.30, 0.15, 0.20),
}

#: blended USD per million tokens at which the cost score is 0.5
COST_REFERENCE_USD_PER_M = 0.5


class Choice(BaseModel):
    """The model chosen for an action, why, and what to try when it fails."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ActionType
    model: str
    reason: str
    fallbacks: tuple[str, ...] = ()

    def to_record(self) -> ModelChoice:
        """The run-record form (:class:`timepoint.world.record.ModelChoice`)."""
        return ModelChoice(
            action=self.action.value,
            model=self.model,
            reason=self.reason,
            fallbacks=list(self.fallbacks),
        )


def cost_score(spec: ModelSpec) -> float:
    """1 for free models, 0.5 at the reference price, approaching 0 for expensive ones."""
    blended = (spec.input_usd_per_m + 3 * spec.output_usd_per_m) / 4
    return 1.0 / (1.0 + blended / COST_REFERENCE_USD_PER_M)


def score(spec: ModelSpec, requirements: ActionRequirements, preference: Preference) -> float:
    """The selection score of ``spec`` for an action, in [0, 1]."""
    w_caps, w_quality, w_speed, w_cost = WEIGHTS[Preference(preference)]
    preferred = requirements.preferred
    if preferred:
        weights = [1.0 / (1 + 0.25 * i) for i in range(len(preferred))]
        present = sum(w for w, cap in zip(weights, preferred, strict=True) if spec.has(cap))
        caps = present / sum(weights)
    else:
        caps = 1.0
    return (
        w_caps * caps + w_quality * spec.quality + w_speed * spec.speed + w_cost * cost_score(spec)
    )


def eligible(
    action: ActionType,
    registry: Registry,
    allow_licenses: Collection[str] = (),
) -> list[ModelSpec]:
    """Models meeting the action's required capabilities, minimum context and license policy.

    Only models whose license allows commercial synthetic data are eligible, plus any model
    whose license is listed in ``allow_licenses``.
    """
    requirements = REQUIREMENTS[ActionType(action)]
    allowed = {name.lower() for name in allow_licenses}
    return [
        spec
        for spec in registry
        if requirements.required <= spec.capabilities
        and spec.context_window >= requirements.min_context
        and (spec.commercial_synthetic_data_ok or spec.license.lower() in allowed)
    ]


def ranked(
    action: ActionType,
    preference: Preference | str = Preference.BALANCED,
    registry: Registry | None = None,
    allow_licenses: Collection[str] = (),
) -> list[tuple[ModelSpec, float]]:
    """Eligible models with their scores, best first; equal scores ordered by id."""
    registry = registry if registry is not None else Registry.load()
    requirements = REQUIREMENTS[ActionType(action)]
    preference = Preference(preference)
    scored = [
        (spec, score(spec, requirements, preference))
        for spec in eligible(action, registry, allow_licenses)
    ]
    return sorted(scored, key=lambda pair: (-round(pair[1], 9), pair[0].id))


def fallback_chain(
    action: ActionType,
    preference: Preference | str = Preference.BALANCED,
    registry: Registry | None = None,
    allow_licenses: Collection[str] = (),
) -> list[str]:
    """Best model for ``preference``, then the best under each other preference, then the
    runner-up for ``preference``; duplicates removed, order kept."""
    registry = registry if registry is not None else Registry.load()
    preference = Preference(preference)
    first = ranked(action, preference, registry, allow_licenses)
    if not first:
        return []
    chain = [first[0][0].id]
    for other in (Preference.QUALITY, Preference.BALANCED, Preference.COST, Preference.SPEED):
        if other is not preference:
            chain.append(ranked(action, other, registry, allow_licenses)[0][0].id)
    if len(first) > 1:
        chain.append(first[1][0].id)
    return list(dict.fromkeys(chain))


def select(
    action: ActionType | str,
    preference: Preference | str = Preference.BALANCED,
    registry: Registry | None = None,
    allow_licenses: Collection[str] = (),
) -> Choice:
    """Choose the model for ``action``.

    Raises:
        ConfigurationError: no registry model meets the action's requirements.
    """
    action = ActionType(action)
    preference = Preference(preference)
    registry = registry if registry is not None else Registry.load()
    requirements = REQUIREMENTS[action]
    candidates = ranked(action, preference, registry, allow_licenses)
    needs = ", ".join(sorted(requirements.required)) or "nothing"
    if not candidates:
        raise ConfigurationError(
            f"no model for action {action.value!r}: it requires {needs}, a context of at least "
            f"{requirements.min_context} tokens and a license that allows commercial synthetic "
            f"data (or one listed in allow_licenses); the registry has {', '.join(registry.ids)}. "
            "Add a model with TIMEPOINT_LLM_REGISTRY or name one in the scenario's models section"
        )
    best, best_score = candidates[0]
    chain = fallback_chain(action, preference, registry, allow_licenses)
    reason = (
        f"best {preference.value} score {best_score:.3f} of {len(candidates)} eligible models "
        f"(requires {needs}; prefers {', '.join(requirements.preferred) or 'nothing'}; "
        f"context >= {requirements.min_context})"
    )
    return Choice(action=action, model=best.id, reason=reason, fallbacks=tuple(chain[1:]))


def served_chain(
    action: ActionType | str,
    served: Sequence[str],
    registry: Registry,
    preference: Preference | str = Preference.BALANCED,
) -> tuple[list[str], str]:
    """The models to try for ``action`` on a self-hosted endpoint that serves ``served``.

    Served models the registry describes (by id or endpoint id) and that have the action's
    required capabilities are ranked by :func:`score`; the best is chosen and the next two are
    the fallbacks. When none qualifies, the first served model is used without fallbacks.
    Licences are not filtered: the endpoint serves what its operator chose.

    Raises:
        ConfigurationError: ``served`` is empty.
    """
    action = ActionType(action)
    if not served:
        raise ConfigurationError(
            "the endpoint serves no models; load a model into the server or set TIMEPOINT_LLM_MODEL"
        )
    requirements = REQUIREMENTS[action]
    scored = []
    for model_id in served:
        spec = registry.find_served(model_id)
        if spec is not None and requirements.required <= spec.capabilities:
            scored.append((model_id, score(spec, requirements, Preference(preference))))
    scored.sort(key=lambda pair: (-round(pair[1], 9), pair[0]))
    if not scored:
        others = f" (of {len(served)} served)" if len(served) > 1 else ""
        return [served[0]], f"served by the endpoint{others}"
    chain = [model_id for model_id, _ in scored[:3]]
    return chain, (
        f"served by the endpoint; best {Preference(preference).value} score "
        f"{scored[0][1]:.3f} of {len(scored)} served registry models"
    )
