"""The base of every scenario section: frozen, extra-forbidding, finite, texts of bounded length."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

#: longest text in any field but ``title`` and ``description`` (a prompt carries it every call)
MAX_TEXT = 2_000


class Frozen(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=MAX_TEXT
    )
