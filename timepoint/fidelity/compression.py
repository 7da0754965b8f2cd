"""Tensor compression (M6): every entity gets a compact tensor of three vectors beside its full
state, fitted across the run's entities, stored, decompressed and measured.

- **context**: the entity's knowledge. Each fact is embedded with the hashing trick (signed
  unigram and bigram features, :data:`CONTEXT_DIM` dimensions); the entity's vector is the
  salience-weighted sum of the facts it holds (a fact weighs more the more often the entity met
  or used it).
- **biology**: age, health, pain, fever, stamina, mobility.
- **behaviour**: personality traits (over the run's trait names) and cognitive state.

Each of the three is reduced with PCA (an SVD of the centred matrix of all entities) to a few
components. The codebook (means and bases) and every entity's coefficients go into
``RunRecord.extras["tensors"]``; :func:`decompress` inverts them and :func:`tensor_summary`
turns a decompressed tensor into the short text a prompt shows for a tensor-only entity.
Quality is measured as recall@k: how many of an entity's top facts are the top facts retrieved
from its *decompressed* context vector.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from timepoint.kernel.embedding import CONTEXT_DIM, embed_text
from timepoint.kernel.mechanism_settings import MechanismSettings
from timepoint.kernel.state import WorldState
from timepoint.llm.base import estimate_tokens
from timepoint.world import Entity, ExposureEvent

#: PCA components kept per vector (capped by the number of entities minus one)
COMPONENTS: dict[str, int] = {"context": 8, "biology": 3, "behaviour": 4}
RECALL_K = 5
BIOLOGY = ("age", "health", "pain", "fever", "stamina", "mobility")
COGNITIVE = (
    "valence",
    "arousal",
    "energy",
    "confidence",
    "risk_tolerance",
    "patience",
    "social_engagement",
)


@functools.lru_cache(maxsize=8192)
def _fact_vector(text: str) -> np.ndarray:
    """:func:`embed_text` of a fact, made once: every entity's summary scores every fact."""
    vector = embed_text(text)
    vector.setflags(write=False)
    return vector


def fact_salience(state: WorldState) -> dict[str, Counter[str]]:
    """Per entity, each fact it holds with a weight: exposures to it plus uses in dialog."""
    weights: dict[str, Counter[str]] = {e: Counter() for e in state.entities}
    for event in state.exposures.events:
        if event.entity_id in weights:
            weights[event.entity_id][event.fact_id] += 1
    for dialog in state.dialogs:
        for turn in dialog.turns:
            if turn.speaker in weights:
                for ref in turn.knowledge_refs:
                    if ref in weights[turn.speaker]:
                        weights[turn.speaker][ref] += 1
    return weights


def _biology(entity: Entity) -> list[float]:
    body = entity.physical.model_dump()
    return [body["age"] / 100 if name == "age" else body[name] for name in BIOLOGY]


def _behaviour(entity: Entity, traits: list[str]) -> list[float]:
    mind = entity.cognitive.model_dump()
    return [entity.traits.get(t, 0.0) for t in traits] + [
        mind[name] / 100 if name == "energy" else mind[name] for name in COGNITIVE
    ]


def _fit(matrix: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA by SVD: the mean row and the top ``wanted`` principal directions (rows)."""
    mean = matrix.mean(axis=0)
    centred = matrix - mean
    if len(matrix) < 2 or not np.any(centred):
        return mean, np.zeros((0, matrix.shape[1]))
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    rank = int((singular > 1e-9 * singular[0]).sum())
    return mean, vt[: min(wanted, rank)]


class CompressionSettings(MechanismSettings):
    """M6 constants as a scenario writes them: principal components kept per vector."""

    components: dict[
        Literal["context", "biology", "behaviour"], Annotated[int, Field(ge=1, le=CONTEXT_DIM)]
    ] = Field(default_factory=dict)


def _rounded(array: np.ndarray) -> list[Any]:
    return np.round(array, 5).tolist()


def compress(state: WorldState, components: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Fit the codebook across the run's entities and encode each; returns the tensor store.

    The store is JSON-ready: ``codebook``, ``features``, ``entities`` (three coefficient
    vectors each), ``quality`` (recall@k from decompressed and from uncompressed context
    vectors, biology/behaviour reconstruction error) and ``size`` (bytes and tokens before and
    after, codebook bytes).
    """
    wanted = {**COMPONENTS, **(components or {})}
    ids = sorted(state.entities)
    if not ids:
        return {}
    traits = sorted({t for e in state.entities.values() for t in e.traits})
    salience = fact_salience(state)
    fact_vectors = {fid: embed_text(f.text) for fid, f in state.facts.items()}
    context = np.zeros((len(ids), CONTEXT_DIM))
    for row, entity_id in enumerate(ids):
        for fid, weight in salience[entity_id].items():
            context[row] += weight * fact_vectors[fid]
        norm = np.linalg.norm(context[row])
        context[row] = context[row] / norm if norm else context[row]
    matrices = {
        "context": context,
        "biology": np.array([_biology(state.entities[e]) for e in ids]),
        "behaviour": np.array([_behaviour(state.entities[e], traits) for e in ids]),
    }
    codebook, coded, decoded = {}, {}, {}
    for name, matrix in matrices.items():
        mean, basis = _fit(matrix, wanted[name])
        codes = (matrix - mean) @ basis.T
        codebook[name] = {"mean": _rounded(mean), "basis": _rounded(basis)}
        coded[name] = codes
        decoded[name] = mean + codes @ basis
    store: dict[str, Any] = {
        "method": f"hashing-trick fact embeddings ({CONTEXT_DIM} dims) and PCA per vector, "
        "fitted across the run's entities",
        "features": {"context_dim": CONTEXT_DIM, "biology": list(BIOLOGY), "traits": traits},
        "codebook": codebook,
        "entities": {
            entity_id: {name: _rounded(coded[name][row]) for name in matrices}
            for row, entity_id in enumerate(ids)
        },
    }
    store["quality"] = _quality(ids, salience, fact_vectors, matrices, decoded)
    store["size"] = _sizes(state, ids, store)
    return store


def _recall(
    vector: np.ndarray, top: list[str], fact_ids: list[str], fact_matrix: np.ndarray
) -> float:
    """Share of the k facts retrieved from ``vector`` that are among the entity's top facts.

    ``top`` holds the entity's k most salient facts plus any tied with the k-th.
    """
    depth = min(RECALL_K, len(top))
    scores = fact_matrix @ vector
    retrieved = {fact_ids[i] for i in np.argsort(-scores, kind="stable")[:depth]}
    return len(retrieved & set(top)) / depth


def _quality(
    ids: list[str],
    salience: dict[str, Counter[str]],
    fact_vectors: dict[str, np.ndarray],
    matrices: dict[str, np.ndarray],
    decoded: dict[str, np.ndarray],
) -> dict[str, float]:
    fact_ids = sorted(fact_vectors)
    fact_matrix = np.array([fact_vectors[f] for f in fact_ids]) if fact_ids else np.zeros((0, 1))
    compressed, full = [], []
    for row, entity_id in enumerate(ids):
        ranked = sorted(salience[entity_id].items(), key=lambda kv: (-kv[1], kv[0]))
        if not ranked:
            continue
        cutoff = ranked[min(RECALL_K, len(ranked)) - 1][1]
        top = [fid for fid, weight in ranked if weight >= cutoff]
        compressed.append(_recall(decoded["context"][row], top, fact_ids, fact_matrix))
        full.append(_recall(matrices["context"][row], top, fact_ids, fact_matrix))

    def rmse(name: str) -> float:
        return float(np.sqrt(np.mean((matrices[name] - decoded[name]) ** 2)))

    return {
        "k": RECALL_K,
        "recall_at_k": round(float(np.mean(compressed)), 4) if compressed else 0.0,
        "recall_at_k_uncompressed": round(float(np.mean(full)), 4) if full else 0.0,
        "biology_rmse": round(rmse("biology"), 5),
        "behaviour_rmse": round(rmse("behaviour"), 5),
    }


def full_state_text(
    state: WorldState, entity_id: str, events: Iterable[ExposureEvent] | None = None
) -> str:
    """The full state as a prompt would carry it: the entity record and every fact it holds.

    ``events`` are the entity's exposures when the caller has them at hand (default: read
    from the whole exposure log).
    """
    entity = state.entities[entity_id]
    if events is None:
        events = (e for e in state.exposures.events if e.entity_id == entity_id)
    held = dict.fromkeys(e.fact_id for e in events)
    facts = [state.facts[f].text for f in held if f in state.facts]
    return entity.model_dump_json(exclude={"metadata"}) + "\n" + "\n".join(facts)


def _sizes(state: WorldState, ids: list[str], store: dict[str, Any]) -> dict[str, int]:
    by_entity: dict[str, list[ExposureEvent]] = {e: [] for e in ids}
    for event in state.exposures.events:  # one pass, not one per entity
        if event.entity_id in by_entity:
            by_entity[event.entity_id].append(event)
    texts = [full_state_text(state, e, by_entity[e]) for e in ids]
    before_bytes = sum(len(text.encode()) for text in texts)
    before_tokens = sum(estimate_tokens(text) for text in texts)
    floats = sum(len(v) for vectors in store["entities"].values() for v in vectors.values())
    book = sum(
        len(part["mean"]) + sum(len(row) for row in part["basis"])
        for part in store["codebook"].values()
    )
    facts = {f: state.facts[f].text for f in state.facts}
    names = {e: state.entities[e].name for e in ids}
    after_tokens = sum(estimate_tokens(tensor_summary(store, e, facts, names[e])) for e in ids)
    return {
        "bytes_before": before_bytes,
        "bytes_after": 4 * floats,
        "codebook_bytes": 4 * book,
        "tokens_before": before_tokens,
        "tokens_after": after_tokens,
    }


def decompress(store: Mapping[str, Any], entity_id: str) -> dict[str, Any]:
    """The entity's approximate state: a context vector, named biology and behaviour values."""
    codes = store["entities"][entity_id]
    out: dict[str, Any] = {}
    for name in ("context", "biology", "behaviour"):
        part = store["codebook"][name]
        basis = np.array(part["basis"]).reshape(len(part["basis"]), len(part["mean"]))
        out[name] = np.array(part["mean"]) + np.array(codes[name]) @ basis
    biology = dict(zip(BIOLOGY, out["biology"].tolist(), strict=True))
    biology["age"] *= 100
    traits = store["features"]["traits"]
    behaviour = out["behaviour"].tolist()
    cognitive = dict(zip(COGNITIVE, behaviour[len(traits) :], strict=True))
    cognitive["energy"] *= 100
    return {
        "context": out["context"],
        "biology": biology,
        "traits": dict(zip(traits, behaviour[: len(traits)], strict=True)),
        "cognitive": cognitive,
    }


def likely_facts(
    store: Mapping[str, Any], entity_id: str, facts: Mapping[str, str], top: int = 3
) -> list[str]:
    """Fact ids best matching the entity's decompressed context vector, best first."""
    vector = decompress(store, entity_id)["context"]
    scored = sorted(facts, key=lambda f: (-float(_fact_vector(facts[f]) @ vector), f))
    return scored[:top]


def tensor_summary(
    store: Mapping[str, Any], entity_id: str, facts: Mapping[str, str], name: str
) -> str:
    """What a prompt shows for an entity that has only its compressed state."""
    state = decompress(store, entity_id)
    known = "; ".join(facts[f].rstrip(".") for f in likely_facts(store, entity_id, facts))
    body = state["biology"]
    traits = sorted(state["traits"].items(), key=lambda kv: -abs(kv[1]))[:3]
    temperament = ", ".join(f"{t} {v:+.1f}" for t, v in traits) or "unremarkable"
    mind = state["cognitive"]
    return (
        f"{name} (compressed state): probably knows {known or 'little of note'}. "
        f"Body: age {body['age']:.0f}, health {body['health']:.2f}, stamina {body['stamina']:.2f}. "
        f"Temperament: {temperament}; energy {mind['energy']:.0f}, "
        f"confidence {mind['confidence']:.2f}."
    )


def project(store: dict[str, Any], state: WorldState, entity_id: str) -> dict[str, list[float]]:
    """Encode an entity created after the fit (e.g. on demand) with the run's codebook."""
    weights = fact_salience(state)[entity_id]
    context = np.zeros(CONTEXT_DIM)
    for fid, weight in weights.items():
        context += weight * embed_text(state.facts[fid].text)
    norm = np.linalg.norm(context)
    entity = state.entities[entity_id]
    rows = {
        "context": context / norm if norm else context,
        "biology": np.array(_biology(entity)),
        "behaviour": np.array(_behaviour(entity, store["features"]["traits"])),
    }
    vectors = {}
    for name, row in rows.items():
        part = store["codebook"][name]
        basis = np.array(part["basis"]).reshape(len(part["basis"]), len(part["mean"]))
        vectors[name] = _rounded((row - np.array(part["mean"])) @ basis.T)
    store["entities"][entity_id] = vectors
    return vectors


def size_of(store: Mapping[str, Any]) -> int:
    """Bytes of the stored tensor section as JSON (what run.json pays for it)."""
    return len(json.dumps(store, separators=(",", ":")).encode())
