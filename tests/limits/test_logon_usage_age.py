"""A Binance WS API ``session.logon`` answer states the address's weight (``rateLimits``) as of the
log-on's own request, as any answer does: what the process took after the log-on was written — still
on its way, not in the venue's count yet — must be added to it (``RateBudget.observe(used, age)``),
as the order socket's answers and the REST answers have it (``test_listen_key_usage_age.py``).
Checked against the simulator's own weight limiter."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import tickwire
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.venue import Call
from tickwire.venues import binance
from venue_limits import another_client_uses

V = "binance"
ANSWER_DELAY_S = 0.5
_KEY = ed25519.Ed25519PrivateKey.generate()
_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
_PUB = _KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def test_a_logon_answers_usage_counts_the_requests_sent_after_it() -> None:
    """Another client on the address used 60 of the announced 100 weight per 3 s. The private stream
    reconnects and logs on (an Ed25519 key), the answer half a second on its way back; meanwhile 16
    tasks send requests until the budget is full (90: 10 kept for cancels), the answers' counts
    telling it of the other client's 60. The log-on's answer then says ~63 — the count when it
    reached the venue, before the burst. Taken as the address's count now, it let ~30 more requests
    go: at the venue over 100, a 429. As of its request, it adds the weight taken since: the venue
    refuses nothing."""
    key = "rev-logon-age"

    async def go() -> None:
        async with Simulator([V], seed=7, rate=0, depth=20, profiles={V: {"weight_limit": 100}},
                             timeouts={"weight_window": 3.0, "ban": 30.0}) as sim:  # fmt: skip
            sim.venue(V).add_key(ApiKey(key, public_key=_PUB))
            sim.fund(V, key, {"USDT": "100000000", "BTC": "100"})
            async with tickwire.trade(
                V, credentials=binance.Signer(key, private_key_pem=_PEM), endpoints=sim.urls()[V],
                adopt=False, rate_wait=10,
            ) as tr:  # fmt: skip
                stream: Any = tr.stream
                assert stream is not None and stream.connected
                assert tr.budget.limits["WEIGHT_3S"].limit == 100
                ep = sim.endpoint(V, 0)
                lim = sim.venue(V).limiter(ep)  # type: ignore[attr-defined]
                await another_client_uses(ep, "/api/v3/time", 60)
                charged = lim.refused
                loop = asyncio.get_running_loop()
                on_text = stream._on_text
                logon_answered = asyncio.Event()

                def slow_logon_answer(payload: bytes) -> None:
                    msg = orjson.loads(payload)
                    if isinstance(msg, dict) and msg.get("id") == "tickwire-logon":

                        def late() -> None:  # the answer on its way back
                            on_text(payload)
                            logon_answered.set()

                        loop.call_later(ANSWER_DELAY_S, late)
                        return
                    on_text(payload)

                stream._on_text = slow_logon_answer
                stream.drop()
                while stream._login is None:
                    await asyncio.sleep(0.005)
                await asyncio.sleep(0.05)  # the log-on at the venue, its weight counted

                async def worker() -> None:
                    for _ in range(3):
                        await tr.send(Call("GET", "/api/v3/time", signed=False))

                got = await asyncio.gather(*(worker() for _ in range(16)), return_exceptions=True)
                await asyncio.wait_for(logon_answered.wait(), 10)
                refused = [(op, st) for _, op, st, _ in ep.exchanges if st in (418, 429)]
                assert lim.refused == charged, f"the venue refused {lim.refused - charged}: {refused[:3]}"
                assert not [g for g in got if isinstance(g, BaseException)], got

    asyncio.run(asyncio.wait_for(go(), 60))
