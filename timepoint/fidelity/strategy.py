"""The fidelity/temporal strategy: a template and a planning mode become a per-step schedule.

A :class:`ResolutionSchedule` holds one :class:`StepPlan` per step of a mode (a timepoint's step
is its depth in its causal chain): the importance planned for the step and the highest
resolution any entity may get there (its *cap*). Templates shape the caps:

============  ============  ===========  =====================
template      ordinary cap  key cap      share of key steps
============  ============  ===========  =====================
minimal       scene         dialog       a third
balanced      dialog        trained      a third
high_quality  dialog        trained      two thirds
maximum       trained       trained      all
============  ============  ===========  =====================

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
from collections.abc import Sequence
from dataclasses import dataclass

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
    """The caps a template allows: ``base`` on ordinary steps, ``peak`` on key steps."""

    base: ResolutionLevel
    peak: ResolutionLevel
    key_share: float


TEMPLATE_SHAPES: dict[FidelityTemplate, TemplateShape] = {
    FidelityTemplate.MINIMAL: TemplateShape(ResolutionLevel.SCENE, ResolutionLevel.DIALOG, 1 / 3),
    FidelityTemplate.BALANCED: TemplateShape(
        ResolutionLevel.DIALOG, ResolutionLevel.TRAINED, 1 / 3
    ),
    FidelityTemplate.HIGH_QUALITY: TemplateShape(
        ResolutionLevel.DIALOG, ResolutionLevel.TRAINED, 2 / 3
    ),
    FidelityTemplate.MAXIMUM: TemplateShape(ResolutionLevel.TRAINED, ResolutionLevel.TRAINED, 1.0),
}


@dataclass(frozen=True)
class StepPlan:
    """The plan of one step: planned importance and the highest level allowed there."""

    index: int
    importance: float
    cap: ResolutionLevel
    key: bool


@dataclass(frozen=True)
class ResolutionSchedule:
    """Per-step resolution plan that a temporal mode follows (through ``Simulation.plan_cells``).

    Attributes:
        template: the fidelity template the caps come from.
        planning: how planned and generated importance combine.
        mode: the temporal mode (for its complexity multiplier).
        steps: one plan per step, in step order.
    """

    template: FidelityTemplate
    planning: PlanningMode
    mode: TemporalMode
    steps: tuple[StepPlan, ...]

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
        if self.planning is PlanningMode.PROGRAMMATIC:
            used, cap = plan.importance, plan.cap
        elif self.planning is PlanningMode.ADAPTIVE:
            used = importance
            cap = shape.peak if importance >= ADAPTIVE_KEY_IMPORTANCE else shape.base
        else:
            used = (plan.importance + importance) / 2
            cap = shape.peak if importance >= HYBRID_RAISE_IMPORTANCE else plan.cap
        level = plan_resolution(role, centrality, used, self.template, floor, downgrade)
        return min(level, cap)

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
                    index=s.index, importance=round(s.importance, 3), cap=s.cap, key=s.key
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
    shape = TEMPLATE_SHAPES[scenario.fidelity.template]
    keys = max(1, math.ceil(shape.key_share * steps - 1e-9))
    ranked = sorted(range(steps), key=lambda i: (-curve[i], -i))
    key_steps = set(ranked[:keys])
    plans = tuple(
        StepPlan(
            index=i,
            importance=round(min(1.0, max(0.0, curve[i])), 4),
            cap=shape.peak if i in key_steps else shape.base,
            key=i in key_steps,
        )
        for i in range(steps)
    )
    return ResolutionSchedule(
        template=scenario.fidelity.template,
        planning=scenario.fidelity.planning,
        mode=scenario.temporal.mode,
        steps=plans,
    )


def _stretch(curve: list[float], steps: int) -> list[float]:
    if len(curve) == steps:
        return curve
    if len(curve) == 1:
        return curve * steps
    return [curve[round(i * (len(curve) - 1) / max(1, steps - 1))] for i in range(steps)]
