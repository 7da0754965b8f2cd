"""Resolution levels (M1): how much detail an entity gets at a timepoint, ordered by rank."""

from __future__ import annotations

from enum import StrEnum
from functools import total_ordering


@total_ordering
class ResolutionLevel(StrEnum):
    """Detail levels from cheapest to richest. Compare levels, never their strings."""

    TENSOR_ONLY = "tensor_only"
    SCENE = "scene"
    GRAPH = "graph"
    DIALOG = "dialog"
    TRAINED = "trained"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ResolutionLevel):
            return NotImplemented
        return self.rank < other.rank

    # str already defines these, so total_ordering would keep the alphabetical ones.
    def __le__(self, other: object) -> bool:
        if not isinstance(other, ResolutionLevel):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, ResolutionLevel):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, ResolutionLevel):
            return NotImplemented
        return self.rank >= other.rank

    def raised(self, steps: int = 1) -> ResolutionLevel:
        """The level ``steps`` above this one, capped at the top."""
        return _ORDER[min(len(_ORDER) - 1, self.rank + steps)]

    def lowered(self, steps: int = 1) -> ResolutionLevel:
        """The level ``steps`` below this one, floored at the bottom."""
        return _ORDER[max(0, self.rank - steps)]

    def __hash__(self) -> int:
        return hash(self.value)


_ORDER = list(ResolutionLevel)

#: Token budget per (entity, timepoint) at each level (reference defaults).
TOKEN_BUDGET: dict[ResolutionLevel, int] = {
    ResolutionLevel.TENSOR_ONLY: 100,
    ResolutionLevel.SCENE: 500,
    ResolutionLevel.GRAPH: 1_000,
    ResolutionLevel.DIALOG: 3_000,
    ResolutionLevel.TRAINED: 5_000,
}
