"""Settings read from the environment: the one place that looks at environment variables.

=========================== ==============================================================
Variable                    Meaning
=========================== ==============================================================
TIMEPOINT_LLM_BASE_URL      OpenAI-compatible endpoint (default OpenRouter)
TIMEPOINT_LLM_API_KEY       key for that endpoint (``OPENROUTER_API_KEY`` also accepted);
                            without a key the offline model is used
TIMEPOINT_LLM_MODEL         force one registry (or endpoint) model id for every action
TIMEPOINT_LLM_RPM           requests-per-minute cap for the endpoint
TIMEPOINT_LLM_TIMEOUT       total seconds per HTTP request, answer included (default 120)
TIMEPOINT_LLM_MAX_RESPONSE_BYTES
                            most bytes of one answer that are read (default 8 MiB)
TIMEPOINT_LLM_PRICE_MARGIN  budgets reserve list price times this (default 1.25); also the
                            price ceiling sent to OpenRouter
TIMEPOINT_LLM_REGISTRY      extra model registry YAML (local models, custom prices)
TIMEPOINT_HOME              where runs are written (default ``./runs``)
TIMEPOINT_DB_URL            run store URL (default SQLite under TIMEPOINT_HOME)
=========================== ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from timepoint.errors import ConfigurationError
from timepoint.redaction import check_key, public_url

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"


class Settings(BaseModel):
    """Frozen runtime settings. The API key is a :class:`~pydantic.SecretStr`: it never prints.

    Build with :meth:`from_env`; construct directly in tests.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr | None = None
    model: str | None = None
    home: Path = Path("runs")
    db_url: str | None = None
    rpm: int | None = Field(None, ge=1)
    timeout: float = Field(120.0, gt=0)
    registry_path: Path | None = None
    max_response_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    price_margin: float = Field(1.25, ge=1.0)

    @field_validator("api_key")
    @classmethod
    def _ascii_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            check_key(key.get_secret_value(), "TIMEPOINT_LLM_API_KEY")
        return key

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, public_url(value) if name == "base_url" else value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); empty values count as unset.

        Raises:
            ConfigurationError: a numeric variable is not a number.
        """
        env = {k: v.strip() for k, v in (os.environ if environ is None else environ).items()}

        def get(name: str) -> str | None:
            return env.get(name) or None

        key = get("TIMEPOINT_LLM_API_KEY") or get("OPENROUTER_API_KEY")
        registry = get("TIMEPOINT_LLM_REGISTRY")
        return cls(
            base_url=(get("TIMEPOINT_LLM_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            api_key=SecretStr(key) if key else None,
            model=get("TIMEPOINT_LLM_MODEL"),
            home=Path(get("TIMEPOINT_HOME") or "runs"),
            db_url=get("TIMEPOINT_DB_URL"),
            rpm=_number(get("TIMEPOINT_LLM_RPM"), "TIMEPOINT_LLM_RPM", int, "60"),
            timeout=_number(get("TIMEPOINT_LLM_TIMEOUT"), "TIMEPOINT_LLM_TIMEOUT", float, "120")
            or 120.0,
            registry_path=Path(registry) if registry else None,
            max_response_bytes=_number(
                get("TIMEPOINT_LLM_MAX_RESPONSE_BYTES"),
                "TIMEPOINT_LLM_MAX_RESPONSE_BYTES",
                int,
                "8388608",
            )
            or 8 * 1024 * 1024,
            price_margin=_margin(get("TIMEPOINT_LLM_PRICE_MARGIN")),
        )

    @property
    def offline(self) -> bool:
        """True when no API key is set: runs use the deterministic offline model."""
        return self.api_key is None

    @property
    def db(self) -> str:
        """The run store URL: ``TIMEPOINT_DB_URL`` or SQLite at ``<home>/timepoint.db``."""
        return self.db_url or f"sqlite:///{self.home / 'timepoint.db'}"

    def describe(self) -> str:
        """One line saying which model a run would use, for CLI banners and notebooks."""
        if self.offline:
            return (
                "LLM: offline model (no API key set; set TIMEPOINT_LLM_API_KEY to use an endpoint)"
            )
        model = self.model or "selected per action from the registry"
        rpm = f", {self.rpm} requests/minute" if self.rpm else ""
        return f"LLM: {public_url(self.base_url)} (API key set; model: {model}{rpm})"


def _margin(raw: str | None) -> float:
    value = _number(raw, "TIMEPOINT_LLM_PRICE_MARGIN", float, "1.25")
    if value is None:
        return 1.25
    if value < 1:
        raise ConfigurationError(
            f"TIMEPOINT_LLM_PRICE_MARGIN={raw!r} is below 1; it multiplies list prices when "
            "budgets reserve a call, so set 1 (exact list prices) or more, e.g. 1.25"
        )
    return value


def _number(raw: str | None, name: str, kind: type, example: str) -> int | float | None:
    if raw is None:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name}={raw!r} is not a {'whole number' if kind is int else 'number'}; set a "
            f"positive number like {example} or unset it"
        ) from None
    if value <= 0:
        raise ConfigurationError(f"{name}={raw!r} must be positive, e.g. {example}")
    return value
