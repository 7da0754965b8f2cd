"""The ``temporal:`` section of a scenario: the temporal mode and each mode's own settings.

Which modes a timepoint's vertical expansion (M8) has no meaning in, and why, lives here too;
the scenario as a whole checks it (:class:`~timepoint.scenario.schema.Scenario`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from timepoint.scenario.frozen import Frozen


class TemporalMode(StrEnum):
    PEARL = "pearl"
    DIRECTORIAL = "directorial"
    NONLINEAR = "nonlinear"
    BRANCHING = "branching"
    CYCLICAL = "cyclical"
    PORTAL = "portal"


class DirectorialConfig(Frozen):
    narrative_arc: str = "rising_action"
    dramatic_tension: float = Field(0.7, ge=0, le=1)
    pov: list[str] = Field(default_factory=list)


class CyclicalConfig(Frozen):
    cycle_length: int = Field(3, ge=2, le=200)
    prophecy_accuracy: float = Field(0.5, ge=0, le=1)
    variation: list[str] = Field(default_factory=lambda: ["mutation", "amplification"])


class BranchingConfig(Frozen):
    branches: int = Field(2, ge=1, le=20)
    path_count: int = Field(3, ge=1, le=20)
    coherence_threshold: float = Field(0.5, ge=0, le=1)


class NonlinearConfig(Frozen):
    presentation: list[int] = Field(default_factory=list)


class PortalWeights(Frozen):
    plausibility: float = Field(0.3, ge=0)
    precedent: float = Field(0.2, ge=0)
    necessity: float = Field(0.3, ge=0)
    capability: float = Field(0.2, ge=0)


class PortalConfig(Frozen):
    description: str
    portal_year: int = Field(ge=1, le=9999)
    origin_year: int = Field(ge=1, le=9999)
    backward_steps: int = Field(5, ge=1, le=50)
    candidates_per_step: int = Field(3, ge=1, le=10)
    path_count: int = Field(3, ge=1, le=20)
    coherence_threshold: float = Field(0.6, ge=0, le=1)
    weights: PortalWeights = Field(default_factory=PortalWeights)
    max_backtrack_depth: int = Field(2, ge=0, le=20)
    exploration: str = Field("adaptive", pattern="^(reverse_chronological|oscillating|adaptive)$")
    oscillation_threshold: int = Field(10, ge=1, le=1_000)
    simulation_judging: bool = False
    judge_model: str | None = None
    simulation_forward_steps: int = Field(1, ge=1, le=20)

    @model_validator(mode="after")
    def _years(self) -> PortalConfig:
        if self.origin_year >= self.portal_year:
            raise ValueError(
                f"origin_year {self.origin_year} must be before portal_year {self.portal_year}"
            )
        return self


class TemporalConfig(Frozen):
    mode: TemporalMode = TemporalMode.PEARL
    directorial: DirectorialConfig = Field(default_factory=DirectorialConfig)
    cyclical: CyclicalConfig = Field(default_factory=CyclicalConfig)
    branching: BranchingConfig = Field(default_factory=BranchingConfig)
    nonlinear: NonlinearConfig = Field(default_factory=NonlinearConfig)
    portal: PortalConfig | None = None

    @model_validator(mode="after")
    def _portal_needs_config(self) -> TemporalConfig:
        if self.mode is TemporalMode.PORTAL and self.portal is None:
            raise ValueError("mode 'portal' needs a 'portal:' section (description, years)")
        return self


#: modes whose timepoints cannot be expanded into sub-moments (M8), and why
NO_EXPANSION: dict[TemporalMode, str] = {
    TemporalMode.BRANCHING: "its paths fork between steps, so a chain of sub-moments inside a "
    "step would belong to one path and not the others",
    TemporalMode.PORTAL: "its steps are placed between origin_year and portal_year by the "
    "backward search, not on timepoints.step, so a step has no time window to unfold",
}
