"""Coinbase Advanced Trade's limit against the simulator: private REST per key per second (HTTP 429
``RATE_LIMIT_EXCEEDED``, no Retry-After), ``x-ratelimit-remaining`` on every answer. A burst never
crosses it; at the limit, with new orders refused before the wire, a cancel still goes through (the
reserve); a 429 blocks the key's calls for the window."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tickwire.sim import Simulator
from tickwire.sim.limits import WeightLimiter
from tickwire.trading.session import TradingSession
from tickwire.trading.venue import Call
from tickwire.venues import coinbase
from tickwire.venues.coinbase import limits
from venue_limits import Account, cancel_at_the_limit, refusal_blocks, refusals, spend

V = "coinbase"
NAME = "organizations/org-tw/apiKeys/limits-key"
_KEY = ec.generate_private_key(ec.SECP256R1())
PRIVATE_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
).decode()
PUBLIC_PEM = _KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
SIGNER = coinbase.Signer(NAME, PRIVATE_PEM)


def _register(v: Any) -> None:
    v.add_key(NAME, PUBLIC_PEM)
    SIGNER.host = urlsplit(v.endpoints[0].rest_base).netloc  # the JWT's uri names the simulator's host


A = Account(V, "BTC-USD", NAME, SIGNER, _register, {"USD": "100000000", "BTC": "100"})


def test_usage_from_the_remaining_header() -> None:
    call = Call("GET", "/api/v3/brokerage/accounts")
    assert limits.cost(call) == {"PRIVATE": 1}
    assert limits.read_usage({"x-ratelimit-remaining": "4"}, call) == {"PRIVATE": 26}
    # A 429 carries no Retry-After: the wait runs to x-ratelimit-reset, at least the window.
    assert 2.0 < (limits.read_reset({"x-ratelimit-reset": str(int(time.time()) + 3)}) or 0) <= 3.0
    assert limits.read_reset({"x-ratelimit-reset": "1700000000"}) == pytest.approx(1.1)


def test_a_burst_never_crosses_the_key_limit() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        t0 = time.monotonic()
        placed = await A.burst(sim, tr, 40)
        assert all(o.status == "new" for o in placed) and len(A.open(sim)) == 40
        assert refusals(sim, V) == 0
        assert time.monotonic() - t0 > 1.0  # 27 calls per 1.1 s, each order at least one
        assert len(await tr.cancel_all(A.symbol)) == 40 and not A.open(sim) and refusals(sim, V) == 0

    A.run(body, {})


def test_at_the_limit_new_orders_wait_and_a_cancel_uses_the_reserve() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await cancel_at_the_limit(sim, tr, lambda: A.resting_buy(sim, tr))

    A.run(body, {}, rate_wait=0)


def test_a_429_blocks_the_key_for_the_window() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.venue(V).limiters[NAME] = spend(WeightLimiter(30, 1.0))
        await refusal_blocks(sim, tr, lambda: A.resting_buy(sim, tr), "POST /api/v3/brokerage/orders", 1.1)

    A.run(body, {}, rate_wait=0)
