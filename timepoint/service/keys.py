"""API keys: ``tp_<key_id>_<secret>``, printed once, stored as a SHA-256 hash, revocable.

The key id is public (it names the key in logs and in ``timepoint keys list``); the secret part
is 256 random bits, so a plain SHA-256 of the whole key is a sufficient hash — there is nothing
to guess. Checks compare hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import BaseModel, ConfigDict

from timepoint.errors import AuthError, ServiceError
from timepoint.store import Store

PREFIX = "tp_"


class ApiKey(BaseModel):
    """A checked key: who is calling, and the limits that apply to them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str
    name: str
    rate_per_minute: int | None = None
    monthly_runs: int | None = None
    monthly_usd: float | None = None


def hash_key(key: str) -> str:
    """The stored form of ``key``: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    store: Store,
    name: str,
    *,
    rate_per_minute: int | None = None,
    monthly_runs: int | None = None,
    monthly_usd: float | None = None,
) -> str:
    """Make a key, store its hash and return the key itself (shown once, kept nowhere).

    Raises:
        ServiceError: an empty name, or a limit below zero.
    """
    if not name.strip():
        raise ServiceError("a key needs a name: timepoint keys create --name NAME")
    for label, value in (
        ("rate_per_minute", rate_per_minute),
        ("monthly_runs", monthly_runs),
        ("monthly_usd", monthly_usd),
    ):
        if value is not None and value < 0:
            raise ServiceError(f"{label}={value}: give zero or more, or leave it unset")
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    store.add_api_key(
        key_id,
        name.strip(),
        hash_key(key),
        rate_per_minute=rate_per_minute,
        monthly_runs=monthly_runs,
        monthly_usd=monthly_usd,
    )
    return key


def check_key(store: Store, authorization: str | None) -> ApiKey:
    """The key an ``Authorization: Bearer …`` header carries.

    Raises:
        AuthError: no header, not a bearer token, an unknown key or a revoked one.
    """
    if not authorization:
        raise AuthError("this endpoint needs an API key: send 'Authorization: Bearer tp_…'")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("the Authorization header must be 'Bearer <key>'")
    return check_token(store, token)


def check_token(store: Store, token: str) -> ApiKey:
    """The key ``token`` is, when it is a valid key.

    Raises:
        AuthError: an unknown or revoked key.
    """
    key_id = token[len(PREFIX) :].split("_", 1)[0] if token.startswith(PREFIX) else ""
    row = store.api_key(key_id) if key_id else None
    if row is None or not hmac.compare_digest(row["secret_hash"], hash_key(token)):
        raise AuthError("unknown API key; create one with `timepoint keys create --name NAME`")
    if row["revoked"] is not None:
        raise AuthError(f"API key {key_id} was revoked on {row['revoked']:%Y-%m-%d}")
    return ApiKey(
        key_id=key_id,
        name=row["name"],
        rate_per_minute=row["rate_per_minute"],
        monthly_runs=row["monthly_runs"],
        monthly_usd=row["monthly_usd"],
    )
