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
TIMEPOINT_HOME              where runs are written (default ``runs/`` in the project root)
TIMEPOINT_DB_URL            run store URL (default SQLite under TIMEPOINT_HOME)
TIMEPOINT_DB_PASSWORD_FILE  a file holding the password of TIMEPOINT_DB_URL (a Docker or
                            Kubernetes secret); the URL itself then names no password
TIMEPOINT_LLM_API_KEY_FILE  a file holding the endpoint key, when TIMEPOINT_LLM_API_KEY is
                            unset
DASK_SCHEDULER_ADDRESS      Dask's own variable: the scheduler ``timepoint serve`` and
                            ``timepoint worker`` send batches to when no ``--cluster`` is given
=========================== ==============================================================

Without ``TIMEPOINT_HOME`` the store does not depend on the current folder: :func:`project_root`
walks up from it to the first folder holding a ``.timepoint`` marker (a file or folder; create
one in your own project) or this repository's ``pyproject.toml`` (``[project] name =
"timepoint"``), and runs go to ``runs/`` there. Outside any project it is ``./runs``.
"""

from __future__ import annotations

import os
import tomllib
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from timepoint.errors import ConfigurationError
from timepoint.redaction import check_key, public_url

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
#: a file or folder that marks a project root (the folder whose ``runs/`` is the store)
MARKER = ".timepoint"


def project_root(start: Path | None = None) -> tuple[Path, str] | None:
    """The project folder at or above ``start`` (default: the current folder) and the marker
    that made it one: a ``.timepoint`` file or folder, or a ``pyproject.toml`` whose
    ``[project] name`` is ``timepoint``. None outside any project."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).exists():
            return folder, MARKER
        if _names_timepoint(folder / "pyproject.toml"):
            return folder, "pyproject.toml"
    return None


def _names_timepoint(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    project = data.get("project")
    return isinstance(project, dict) and project.get("name") == "timepoint"


def default_home(environ: Mapping[str, str], cwd: Path | None = None) -> tuple[Path, str]:
    """Where runs live and why: ``TIMEPOINT_HOME``, else ``runs/`` in the :func:`project_root`
    of ``cwd``, else ``./runs``."""
    if environ.get("TIMEPOINT_HOME"):
        return Path(environ["TIMEPOINT_HOME"]), "TIMEPOINT_HOME"
    found = project_root(cwd)
    if found is None:
        return (cwd or Path()) / "runs", "no project root above the current folder"
    root, marker = found
    return root / "runs", f"project root {root}, found by {marker}"


class Settings(BaseModel):
    """Frozen runtime settings. The API key is a :class:`~pydantic.SecretStr`: it never prints.

    Build with :meth:`from_env`; construct directly in tests.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr | None = None
    model: str | None = None
    home: Path = Path("runs")
    home_source: str = ""
    db_url: str | None = None
    rpm: int | None = Field(None, ge=1)
    timeout: float = Field(120.0, gt=0)
    registry_path: Path | None = None
    max_response_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    price_margin: float = Field(1.25, ge=1.0)
    dask_scheduler: str | None = None

    @field_validator("api_key")
    @classmethod
    def _ascii_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            check_key(key.get_secret_value(), "TIMEPOINT_LLM_API_KEY")
        return key

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            shown = name in ("base_url", "db_url") and isinstance(value, str)
            yield name, public_url(value) if shown else value

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); empty values count as unset.
        Without ``TIMEPOINT_HOME``, ``home`` is found from ``cwd`` (default: the current
        folder) by :func:`default_home`.

        Raises:
            ConfigurationError: a numeric variable is not a number.
        """
        env = {k: v.strip() for k, v in (os.environ if environ is None else environ).items()}

        def get(name: str) -> str | None:
            return env.get(name) or None

        key = (
            get("TIMEPOINT_LLM_API_KEY")
            or get("OPENROUTER_API_KEY")
            or _secret_file(get("TIMEPOINT_LLM_API_KEY_FILE"), "TIMEPOINT_LLM_API_KEY_FILE")
        )
        db_url = get("TIMEPOINT_DB_URL")
        password_file = get("TIMEPOINT_DB_PASSWORD_FILE")
        if password_file:
            password = _secret_file(password_file, "TIMEPOINT_DB_PASSWORD_FILE")
            db_url = with_password(db_url, password or "")
        registry = get("TIMEPOINT_LLM_REGISTRY")
        home, home_source = default_home({k: v for k, v in env.items() if v}, cwd)
        return cls(
            base_url=(get("TIMEPOINT_LLM_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            api_key=SecretStr(key) if key else None,
            model=get("TIMEPOINT_LLM_MODEL"),
            home=home,
            home_source=home_source,
            db_url=db_url,
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
            dask_scheduler=get("DASK_SCHEDULER_ADDRESS"),
        )

    @property
    def offline(self) -> bool:
        """True when no API key is set: runs use the deterministic offline model."""
        return self.api_key is None

    @property
    def db(self) -> str:
        """The run store URL: ``TIMEPOINT_DB_URL`` or SQLite at ``<home>/timepoint.db``."""
        return self.db_url or f"sqlite:///{self.home / 'timepoint.db'}"

    def describe_store(self) -> str:
        """One line saying which run store is used and why, e.g. ``store: /repo/runs (project
        root /repo, found by pyproject.toml)``; printed by commands and notebooks."""
        source = f" ({self.home_source})" if self.home_source else ""
        if self.db_url:
            return (
                f"store: {public_url(self.db_url)} (TIMEPOINT_DB_URL); run folders in {self.home}"
            )
        return f"store: {self.home.absolute()}{source}"

    def describe(self) -> str:
        """One line saying which model a run would use, for CLI banners and notebooks."""
        if self.offline:
            return (
                "LLM: offline model (no API key set; set TIMEPOINT_LLM_API_KEY to use an endpoint)"
            )
        model = self.model or "selected per action from the registry"
        rpm = f", {self.rpm} requests/minute" if self.rpm else ""
        return f"LLM: {public_url(self.base_url)} (API key set; model: {model}{rpm})"


def _secret_file(path: str | None, name: str) -> str | None:
    """The text of the secret file ``path`` names, stripped (None when ``path`` is None)."""
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as error:
        raise ConfigurationError(
            f"{name}={path!r} cannot be read ({error.strerror}); mount the secret file there "
            "or unset the variable"
        ) from None
    except UnicodeDecodeError:
        raise ConfigurationError(
            f"{name}={path!r} is not UTF-8 text; write the secret alone in the file"
        ) from None


def with_password(url: str | None, password: str) -> str:
    """``url`` with ``password`` as the password of its user (``TIMEPOINT_DB_PASSWORD_FILE``).

    Raises:
        ConfigurationError: there is no URL, it has no user, or it already names a password.
    """
    if not url or not password:
        raise ConfigurationError(
            "TIMEPOINT_DB_PASSWORD_FILE is set but "
            + ("TIMEPOINT_DB_URL is not" if not url else "the file is empty")
            + "; set TIMEPOINT_DB_URL=postgresql://USER@HOST:5432/DB and put the password alone "
            "in the file"
        )
    parts = urllib.parse.urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if not at or not user:
        raise ConfigurationError(
            f"TIMEPOINT_DB_URL={public_url(url)!r} names no user for the password of "
            "TIMEPOINT_DB_PASSWORD_FILE; write it as postgresql://USER@HOST:5432/DB"
        )
    if ":" in user:
        raise ConfigurationError(
            f"TIMEPOINT_DB_URL={public_url(url)!r} already holds a password and "
            "TIMEPOINT_DB_PASSWORD_FILE gives another; keep the password in one of them"
        )
    netloc = f"{user}:{urllib.parse.quote(password, safe='')}@{host}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


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
