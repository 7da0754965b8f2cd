"""Resolution planning (M1): a level for every (entity, timepoint) from role, centrality,
timepoint importance and the fidelity template.

Score = role base + 0.4 × centrality + 0.3 × importance; the template shifts the thresholds.
"""

from __future__ import annotations

from timepoint.scenario.schema import FidelityTemplate
from timepoint.world import EntityRole, ResolutionLevel

ROLE_BASE: dict[EntityRole, float] = {
    EntityRole.PRIMARY: 0.6,
    EntityRole.SECONDARY: 0.4,
    EntityRole.BACKGROUND: 0.05,
    EntityRole.ENVIRONMENT: 0.0,
}

#: Lower score bounds of scene, graph, dialog and trained (tensor_only below the first).
THRESHOLDS: tuple[float, float, float, float] = (0.2, 0.4, 0.6, 1.05)

#: Levels a template adds (positive) or removes (negative), and the cap it imposes.
TEMPLATE_SHIFT: dict[FidelityTemplate, tuple[int, ResolutionLevel]] = {
    FidelityTemplate.MINIMAL: (-1, ResolutionLevel.DIALOG),
    FidelityTemplate.BALANCED: (0, ResolutionLevel.TRAINED),
    FidelityTemplate.HIGH_QUALITY: (1, ResolutionLevel.TRAINED),
    FidelityTemplate.MAXIMUM: (5, ResolutionLevel.TRAINED),
    FidelityTemplate.DRAMATIC: (1, ResolutionLevel.TRAINED),
    FidelityTemplate.PORTAL_PIVOTS: (2, ResolutionLevel.TRAINED),
}


def score(role: EntityRole, centrality: float, importance: float) -> float:
    return ROLE_BASE[role] + 0.4 * centrality + 0.3 * importance


def level_for_score(value: float) -> ResolutionLevel:
    level = ResolutionLevel.TENSOR_ONLY
    for bound, candidate in zip(
        THRESHOLDS,
        (
            ResolutionLevel.SCENE,
            ResolutionLevel.GRAPH,
            ResolutionLevel.DIALOG,
            ResolutionLevel.TRAINED,
        ),
        strict=True,
    ):
        if value >= bound:
            level = candidate
    return level


def plan_resolution(
    role: EntityRole,
    centrality: float,
    importance: float,
    template: FidelityTemplate,
    floor: ResolutionLevel = ResolutionLevel.TENSOR_ONLY,
    downgrade: int = 0,
) -> ResolutionLevel:
    """The level of one (entity, timepoint). ``downgrade`` lowers it (hard token budgets)."""
    shift, cap = TEMPLATE_SHIFT[template]
    level = level_for_score(score(role, centrality, importance))
    level = level.raised(shift) if shift >= 0 else level.lowered(-shift)
    level = min(max(level, floor), cap)
    if role is EntityRole.ENVIRONMENT:
        level = min(level, ResolutionLevel.SCENE)
    return level.lowered(downgrade) if downgrade else level
