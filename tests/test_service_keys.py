"""API keys on the command line, and the rate limiter's buckets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from timepoint.cli import main
from timepoint.errors import AuthError, RateLimited
from timepoint.service.keys import ApiKey, check_key
from timepoint.service.limits import RateLimiter
from timepoint.store import open_store


def test_keys_are_printed_once_stored_hashed_and_revocable(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("TIMEPOINT_HOME", str(tmp_path))
    assert main(["keys", "create", "--name", "ci", "--rate", "5", "--monthly-usd", "2.5"]) == 0
    key = capsys.readouterr().out.splitlines()[0]
    key_id = key.split("_")[1]
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "rate/min 5" in listed and "USD/month 2.5" in listed
    assert key not in listed
    with open_store(home=tmp_path) as store:
        (row,) = store.api_keys()
        assert row["secret_hash"] == hashlib.sha256(key.encode()).hexdigest()
        assert check_key(store, f"Bearer {key}").monthly_usd == 2.5
    assert key.encode() not in (tmp_path / "timepoint.db").read_bytes()
    assert main(["keys", "revoke", "ci"]) == 0
    with open_store(home=tmp_path) as store, pytest.raises(AuthError, match="revoked"):
        check_key(store, f"Bearer {key}")
    assert main(["keys", "revoke", "nobody"]) == 2
    assert "no API key with id or name 'nobody'" in capsys.readouterr().err


def test_a_bucket_refills_at_the_key_s_rate(tmp_path: Path) -> None:
    now = [0.0]
    store = open_store(home=tmp_path)
    limiter = RateLimiter(store, clock=lambda: now[0])
    key = ApiKey(key_id="k", name="k", rate_per_minute=60)
    for _ in range(60):
        limiter.check(key)
    with pytest.raises(RateLimited) as refused:
        limiter.check(key)
    assert refused.value.retry_after == pytest.approx(1.0)
    now[0] = 2.0
    limiter.check(key)
    limiter.check(key)
    with pytest.raises(RateLimited):
        limiter.check(key)
    closed = ApiKey(key_id="z", name="z", rate_per_minute=0)
    with pytest.raises(RateLimited, match="retry in never"):
        limiter.check(closed)


def test_servers_sharing_a_store_share_each_key_s_bucket(tmp_path: Path) -> None:
    """Two API processes (or replicas) on one store: together they allow the key's rate, not
    twice it."""
    now = [100.0]
    first, second = open_store(home=tmp_path), open_store(home=tmp_path)
    limiters = [RateLimiter(s, clock=lambda: now[0]) for s in (first, second)]
    key = ApiKey(key_id="k", name="k", rate_per_minute=10)
    for i in range(10):
        limiters[i % 2].check(key)
    for limiter in limiters:
        with pytest.raises(RateLimited):
            limiter.check(key)
    now[0] += 6.0  # one token back at 10 a minute
    limiters[1].check(key)
    with pytest.raises(RateLimited):
        limiters[0].check(key)
    now[0] -= 30.0  # a server whose clock is behind refills nothing
    with pytest.raises(RateLimited):
        limiters[0].check(key)
    now[0] += 30.0  # nor does it make the next request of a server on time look 30 s later
    with pytest.raises(RateLimited):
        limiters[1].check(key)
