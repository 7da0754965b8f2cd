"""The fidelity/temporal strategy: a template and a planning mode become a per-step schedule.

A :class:`ResolutionSchedule` holds one :class:`StepPlan` per step of a mode (a timepoint's step
is its depth in its causal chain): the importance planned for the step and the highest
resolution any entity may get there (its *cap*). Templates shape the caps; the steps with the
highest planned importance get the highest caps:

=============  ======================================================================
template       caps (share of the steps, most important first)
=============  ======================================================================
minimal        dialog on a third, scene on the rest (``minimalist`` is an alias)
balanced       trained on a third, dialog on the rest
high_quality   trained on two thirds, dialog on the rest
maximum        trained on every step (``max_quality`` is an alias)
dramatic       trained on 1/15 (the climax), dialog on 2/15, scene on 4/15, tensor_only
               on the rest (at least one step each while there are steps left)
portal_pivots  by the step's part in the story: endpoint and origin trained, pivot points
               dialog, bridges (next to a pivot, the origin or the endpoint) scene,
               checkpoints tensor_only
=============  ======================================================================

``portal_pivots`` allocates adaptively. In PORTAL mode the pivots are the steps where the kept
paths diverge most or where their scores jump (:func:`~timepoint.time.paths.find_pivots`), found
after the search and before the paths are simulated (:meth:`ResolutionSchedule.with_pivots`); in
other modes a bridge or checkpoint the model rates at least 0.75 is treated as a pivot.

Key steps are those with the highest planned importance. Planning modes decide how much the
plan trusts what the model later says about a timepoint:

- ``programmatic``: everything is fixed before the run (planned importance, planned caps), so
  cost is predictable;
- ``adaptive``: nothing is fixed; each timepoint's importance (as generated) decides its level
  and whether it gets the key cap;
- ``hybrid``: planned and generated importance are averaged, and a timepoint the model rates at
  least 0.85 is raised to the key cap.

Mode complexity multipliers *(ref)* scale the planned token ceiling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from timepoint.fidelity.planner import plan_resolution
from timepoint.scenario.schema import FidelityTemplate, PlanningMode, Scenario, TemporalMode
from timepoint.world import EntityRole, ResolutionLevel
from timepoint.world.evidence import FidelitySchedule, ScheduledStep
from timepoint.world.resolution import TOKEN_BUDGET

#: Relative cost of each temporal mode (reference values).
MODE_COMPLEXITY: dict[TemporalMode, float] = {
    TemporalMode.PEARL: 1.0,
    TemporalMode.DIRECTORIAL: 1.2,
    TemporalMode.NONLINEAR: 1.3,
    TemporalMode.BRANCHING: 1.4,
    TemporalMode.CYCLICAL: 1.3,
    TemporalMode.PORTAL: 1.5,
}

#: Generated importance from which an adaptive plan gives a step the key cap.
ADAPTIVE_KEY_IMPORTANCE = 0.75
#: Generated importance from which a hybrid plan raises a step to the key cap.
HYBRID_RAISE_IMPORTANCE = 0.85


@dataclass(frozen=True)
class TemplateShape:
    """The caps a template allows: ``peak`` on the ``key_share`` most important steps, each
    ``middle`` tier (level, share) on the next ones, ``base`` on the rest."""

    base: ResolutionLevel
    peak: ResolutionLevel
    key_share: float
    middle: tuple[tuple[ResolutionLevel, float], ...] = ()

    def tiers(self) -> list[tuple[ResolutionLevel, float]]:
        """The capped tiers above ``base``, highest first."""
        return [(self.peak, self.key_share), *self.middle]


TEMPLATE_SHAPES: dict[FidelityTemplate, TemplateShape] = {
    FidelityTemplate.MINIMAL: TemplateShape(ResolutionLevel.SCENE, ResolutionLevel.DIALOG, 1 / 3),
    FidelityTemplate.BALANCED: TemplateShape(
        ResolutionLevel.DIALOG, ResolutionLevel.TRAINED, 1 / 3
    ),
    FidelityTemplate.HIGH_QUALITY: TemplateShape(
        ResolutionLevel.DIALOG, ResolutionLevel.TRAINED, 2 / 3
    ),
    FidelityTemplate.MAXIMUM: TemplateShape(ResolutionLevel.TRAINED, ResolutionLevel.TRAINED, 1.0),
    FidelityTemplate.DRAMATIC: TemplateShape(
        ResolutionLevel.TENSOR_ONLY,
        ResolutionLevel.TRAINED,
        1 / 15,
        ((ResolutionLevel.DIALOG, 2 / 15), (ResolutionLevel.SCENE, 4 / 15)),
    ),
    FidelityTemplate.PORTAL_PIVOTS: TemplateShape(
        ResolutionLevel.TENSOR_ONLY, ResolutionLevel.TRAINED, 0.0
    ),
}

#: The cap of each part a step can play under ``portal_pivots``.
PIVOT_ALLOCATION: dict[str, ResolutionLevel] = {
    "endpoint": ResolutionLevel.TRAINED,
    "origin": ResolutionLevel.TRAINED,
    "pivot": ResolutionLevel.DIALOG,
    "bridge": ResolutionLevel.SCENE,
    "checkpoint": ResolutionLevel.TENSOR_ONLY,
}


@dataclass(frozen=True)
class StepPlan:
    """The plan of one step: planned importance, the highest level allowed there, and (under
    ``portal_pivots``) the step's part: endpoint, origin, pivot, bridge or checkpoint."""

    index: int
    importance: float
    cap: ResolutionLevel
    key: bool
    part: str | None = None


@dataclass(frozen=True)
class ResolutionSchedule:
    """Per-step resolution plan that a temporal mode follows (through ``Simulation.plan_cells``).

    Attributes:
        template: the fidelity template the caps come from.
        planning: how planned and generated importance combine.
        mode: the temporal mode (for its complexity multiplier).
        steps: one plan per step, in step order.
        pivots_found: under ``portal_pivots``, whether the pivots were found from the paths
            (then the model's importance no longer makes a step a pivot).
    """

    template: FidelityTemplate
    planning: PlanningMode
    mode: TemporalMode
    steps: tuple[StepPlan, ...]
    pivots_found: bool = False

    @property
    def multiplier(self) -> float:
        return MODE_COMPLEXITY[self.mode]

    def step(self, index: int) -> StepPlan:
        """The plan of step ``index``, clamped to the schedule (sub-moments reuse their step's)."""
        return self.steps[max(0, min(index, len(self.steps) - 1))]

    def resolve(
        self,
        *,
        role: EntityRole,
        centrality: float,
        importance: float,
        index: int,
        floor: ResolutionLevel = ResolutionLevel.TENSOR_ONLY,
        downgrade: int = 0,
    ) -> ResolutionLevel:
        """The level of one entity at step ``index`` whose timepoint was rated ``importance``."""
        plan = self.step(index)
        shape = TEMPLATE_SHAPES[self.template]
        if self.template is FidelityTemplate.PORTAL_PIVOTS:
            used, cap = importance, plan.cap
            adaptive_pivot = not self.pivots_found and plan.part in {"bridge", "checkpoint"}
            if adaptive_pivot and importance >= ADAPTIVE_KEY_IMPORTANCE:
                cap = PIVOT_ALLOCATION["pivot"]
        elif self.planning is PlanningMode.PROGRAMMATIC:
            used, cap = plan.importance, plan.cap
        elif self.planning is PlanningMode.ADAPTIVE:
            used = importance
            cap = shape.peak if importance >= ADAPTIVE_KEY_IMPORTANCE else shape.base
        else:
            used = (plan.importance + importance) / 2
            cap = shape.peak if importance >= HYBRID_RAISE_IMPORTANCE else plan.cap
        level = plan_resolution(role, centrality, used, self.template, floor, downgrade)
        return min(level, cap)

    def with_pivots(self, pivots: Iterable[int]) -> ResolutionSchedule:
        """The ``portal_pivots`` schedule re-planned around the pivots found from the paths
        (other templates are returned unchanged)."""
        if self.template is not FidelityTemplate.PORTAL_PIVOTS:
            return self
        importance = [s.importance for s in self.steps]
        return replace(self, steps=_pivot_plans(importance, set(pivots)), pivots_found=True)

    def token_ceiling(self, entities: int) -> int:
        """Planned upper bound of tokens: every entity at its step's cap, times the mode's cost."""
        per_step = sum(TOKEN_BUDGET[s.cap] for s in self.steps) * max(1, entities)
        return int(per_step * self.multiplier)

    def summary(self, entities: int) -> FidelitySchedule:
        """What the record keeps of the plan."""
        return FidelitySchedule(
            template=self.template.value,
            planning=self.planning.value,
            mode=self.mode.value,
            mode_multiplier=self.multiplier,
            token_ceiling=self.token_ceiling(entities),
            steps=[
                ScheduledStep(
                    index=s.index,
                    importance=round(s.importance, 3),
                    cap=s.cap,
                    key=s.key,
                    part=s.part,
                )
                for s in self.steps
            ],
        )


def ramp(steps: int, low: float = 0.3, high: float = 0.9) -> list[float]:
    """Planned importance rising evenly from ``low`` to ``high`` (the default dramatic shape)."""
    if steps <= 1:
        return [high]
    return [low + (high - low) * i / (steps - 1) for i in range(steps)]


def build_schedule(
    scenario: Scenario, steps: int, importance: Sequence[float] | None = None
) -> ResolutionSchedule:
    """The schedule of ``scenario`` over ``steps`` steps.

    Args:
        scenario: supplies the template, planning mode and temporal mode.
        steps: how many steps the mode will generate (at least 1).
        importance: planned importance per step (e.g. a directorial tension curve); default a
            rising ramp. Shorter curves are stretched to ``steps``.
    """
    steps = max(1, steps)
    curve = _stretch(list(importance) if importance else ramp(steps), steps)
    template = scenario.fidelity.template
    if template is FidelityTemplate.PORTAL_PIVOTS:
        plans = _pivot_plans(curve, set())
    else:
        plans = _tier_plans(curve, TEMPLATE_SHAPES[template])
    return ResolutionSchedule(
        template=template,
        planning=scenario.fidelity.planning,
        mode=scenario.temporal.mode,
        steps=plans,
    )


def _tier_plans(curve: list[float], shape: TemplateShape) -> tuple[StepPlan, ...]:
    """Caps by tier: the most important steps get the highest tier, each tier at least one."""
    steps = len(curve)
    ranked = sorted(range(steps), key=lambda i: (-curve[i], -i))
    caps: dict[int, ResolutionLevel] = {}
    keys: set[int] = set()
    for position, (level, share) in enumerate(shape.tiers()):
        count = max(1, math.ceil(share * steps - 1e-9)) if share > 0 else 0
        chosen = [i for i in ranked if i not in caps][:count]
        caps |= dict.fromkeys(chosen, level)
        if position == 0:
            keys = set(chosen)
    return tuple(
        StepPlan(
            index=i,
            importance=round(min(1.0, max(0.0, curve[i])), 4),
            cap=caps.get(i, shape.base),
            key=i in keys,
        )
        for i in range(steps)
    )


def pivot_parts(steps: int, pivots: set[int]) -> list[str]:
    """The part each step plays under ``portal_pivots`` (step 0 is the origin, the last the
    endpoint)."""
    anchors = {0, steps - 1} | pivots
    parts = []
    for i in range(steps):
        if i == steps - 1:
            parts.append("endpoint")
        elif i == 0:
            parts.append("origin")
        elif i in pivots:
            parts.append("pivot")
        elif {i - 1, i + 1} & anchors:
            parts.append("bridge")
        else:
            parts.append("checkpoint")
    return parts


def _pivot_plans(curve: list[float], pivots: set[int]) -> tuple[StepPlan, ...]:
    parts = pivot_parts(len(curve), pivots)
    return tuple(
        StepPlan(
            index=i,
            importance=round(min(1.0, max(0.0, curve[i])), 4),
            cap=PIVOT_ALLOCATION[part],
            key=part in {"endpoint", "origin", "pivot"},
            part=part,
        )
        for i, part in enumerate(parts)
    )


def _stretch(curve: list[float], steps: int) -> list[float]:
    if len(curve) == steps:
        return curve
    if len(curve) == 1:
        return curve * steps
    return [curve[round(i * (len(curve) - 1) / max(1, steps - 1))] for i in range(steps)]
