"""The compressed state of a run's entities (M6): a PCA codebook and per-entity coefficients.

:mod:`timepoint.fidelity.compression` fits and reads it; the run keeps it in
``RunRecord.evidence.tensors``, and questions encode entities they create with its codebook.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: the three vectors every entity is encoded as
VECTORS = ("context", "biology", "behaviour")


class TensorFeatures(BaseModel):
    """What the vectors' dimensions mean: context size, biology fields and trait names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    context_dim: int
    biology: list[str]
    traits: list[str]


class CodebookPart(BaseModel):
    """The mean and principal axes of one vector (``basis`` has one row per component)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: list[float]
    basis: list[list[float]]


class TensorQuality(BaseModel):
    """recall@k from decompressed and from uncompressed context vectors; reconstruction error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int
    recall_at_k: float
    recall_at_k_uncompressed: float
    biology_rmse: float
    behaviour_rmse: float


class TensorSize(BaseModel):
    """Bytes and prompt tokens of the entities' full state and of their compressed state."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bytes_before: int
    bytes_after: int
    codebook_bytes: int
    tokens_before: int
    tokens_after: int


class TensorCodebook(BaseModel):
    """The fitted codebook and each entity's coefficients (``entities[id][vector]``).

    ``entities`` grows when an entity created later is encoded with the same codebook.
    """

    model_config = ConfigDict(extra="forbid")

    method: str
    features: TensorFeatures
    codebook: dict[str, CodebookPart]
    entities: dict[str, dict[str, list[float]]] = Field(default_factory=dict)


class TensorStore(TensorCodebook):
    """The codebook with its measured quality and size, as a run keeps it."""

    quality: TensorQuality
    size: TensorSize
