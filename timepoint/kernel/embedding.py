"""Text embeddings for M6 tensors and prompt relevance: the hashing trick, no model needed.

A text becomes a unit vector of :data:`CONTEXT_DIM` dimensions: each content word and word pair
adds ±1 to the dimension its CRC-32 picks (the sign from another bit of the same hash), so equal
texts embed equally in every process and related texts share dimensions.
"""

from __future__ import annotations

import itertools
import re
import zlib

import numpy as np

CONTEXT_DIM = 256
_WORD = re.compile(r"[a-z][a-z']+")
_STOP_TEXT = (
    "the a an and or of to in on at for with by from that this is was are were be been "
    "it its as his her their our we they he she not but what who"
)
_STOP = frozenset(_STOP_TEXT.split())


def embed_text(text: str, dim: int = CONTEXT_DIM) -> np.ndarray:
    """A unit vector for ``text``: signed hashing of its content words and word pairs."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    vector = np.zeros(dim)
    for feature in [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]:
        code = zlib.crc32(feature.encode())
        vector[code % dim] += 1.0 if (code >> 16) & 1 else -1.0
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector
