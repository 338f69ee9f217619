"""The simulator logs no credential its clients send it (review of the secret-handling rule): a
WebSocket upgrade carries them in its path (a Binance user data stream's is its listenKey) and its
headers (Cloud9Trader's ``x-c9t-signature``, Clarofinlore's ``Authorization: Bearer``), and picows'
server logs the request it read, whole, at its level 9 — below DEBUG, on for ``logging.basicConfig(
level=1)`` or a handler of the root logger at NOTSET."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
import tickwire
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.venues import binance, cloud9trader

ALL = 1  # every level: picows' own (9) too


def test_no_listen_key_or_upgrade_signature_in_the_simulators_log(caplog: pytest.LogCaptureFixture) -> None:
    """A ``binance-usdm`` trading session (its user data stream at ``/private/ws/<listenKey>``) and a
    Cloud9Trader market session (every upgrade signed in its headers) against the simulator, every
    logger at every level: no record holds the listenKey or a signature the upgrades carried."""
    key, secret = "leak-usdm-key", "leak-usdm-secret-never-seen"
    c9_secret = base64.b64encode(b"cloud9 secret never seen 0123456").decode()
    signatures: list[str] = []
    issued: list[str] = []

    async def go() -> None:
        async with Simulator(["binance-usdm", "cloud9trader"], seed=5, rate=50, depth=5) as sim:
            v = sim.venue("binance-usdm")
            v.add_key(ApiKey(key, secret=secret.encode()))
            sim.fund("binance-usdm", key, {"USDT": "1000"})
            eps = sim.urls()["binance-usdm"]
            async with tickwire.trade(
                "binance-usdm", credentials=binance.Signer(key, secret), endpoints=eps
            ) as tr:
                await tr.balances()
            issued.extend(v.listen_keys.issued)

            sim.venue("cloud9trader").add_key("leak-c9-key", c9_secret)
            signer = cloud9trader.Signer("leak-c9-key", c9_secret)
            upgrade = signer.upgrade_headers

            def spied(path: str = "/", nonce: Any = None) -> dict[str, str]:
                h = upgrade(path, nonce)
                signatures.append(h["x-c9t-signature"])
                return h

            signer.upgrade_headers = spied  # type: ignore[method-assign]
            md = tickwire.connect(
                "cloud9trader",
                ["BTCUSD"],
                endpoints=sim.urls()["cloud9trader"],
                venue_options={"signer": signer},
            )
            async with md:
                await md.wait_synced(5.0)

    with caplog.at_level(ALL):
        asyncio.run(go())
    text = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    assert issued and signatures, (issued, signatures)
    assert "picows.server" in text  # the simulator's server logged at its finest level
    for s in [*issued, *signatures]:
        assert s not in text, f"{s[:12]}… logged: {text[max(0, text.index(s) - 300) : text.index(s) + 80]!r}"
