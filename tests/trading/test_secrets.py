"""No secret in logs, exceptions, reprs or the audit file: a session is driven through the paths that
log and raise the most (a refused order, a lost answer, a wrong key, the kill switch) with every logger
at DEBUG, then everything it produced is searched for the secret, the passphrase and the key's
signature material."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import tickwire
from tickwire.errors import TickwireError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.venues import binance, okx

SECRET, PASSPHRASE = "s3cr3t-VALUE-never-seen", "pass-PHRASE-never-seen"


def _venues() -> list[tuple[str, Any, Any, str]]:
    def add_binance(v: Any) -> None:
        v.add_key(ApiKey("key-b", secret=SECRET.encode()))

    return [
        ("binance", binance.Signer("key-b", SECRET), add_binance, "BTCUSDT"),
        (
            "okx",
            okx.Signer("key-o", SECRET, PASSPHRASE),
            lambda v: v.add_key("key-o", SECRET, PASSPHRASE),
            "BTC-USDT",
        ),
    ]


@pytest.mark.parametrize("venue,signer,register,symbol", _venues(), ids=["binance", "okx"])
def test_no_secret_reaches_logs_exceptions_reprs_or_the_audit_file(
    venue: str, signer: Any, register: Any, symbol: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    audit = tmp_path / "audit.jsonl"
    seen: list[str] = []

    async def go() -> None:
        async with Simulator([venue], seed=3, rate=0, depth=20) as sim:
            register(sim.venue(venue))
            sim.fund(venue, signer.api_key, {"USDT": "1000000", "BTC": "10"})
            ep = sim.endpoint(venue, 0)
            async with tickwire.trade(
                venue, credentials=signer, endpoints=sim.urls()[venue], audit=str(audit), timeout=1.0
            ) as tr:
                seen.extend([repr(tr), repr(tr.signer), str(tr.signer), repr(tr.budget), repr(tr.wire)])
                bid = sim.book(venue, symbol).bids[0][0]
                tick = tr.rules[symbol].tick_size
                o = await tr.place_order(symbol, "buy", "limit", "0.01", bid - 50 * tick)
                ep.lose_answer(f"POST {'/api/v3/order' if venue == 'binance' else '/api/v5/trade/order'}")
                await tr.place_order(symbol, "buy", "limit", "0.01", bid - 60 * tick)
                for bad in (lambda: tr.place_order(symbol, "buy", "limit", "1000000", bid),):
                    try:
                        await bad()
                    except TickwireError as e:
                        seen.extend([str(e), repr(e), repr(e.__dict__)])
                await tr.cancel_order(symbol, client_id=o.client_id)
                report = await tr.kill("test")
                seen.append(repr(report))
            wrong = type(signer)(signer.api_key, "wrong-secret", *([PASSPHRASE] if venue == "okx" else []))
            try:
                async with tickwire.trade(
                    venue, credentials=wrong, endpoints=sim.urls()[venue], timeout=1.0
                ) as t2:
                    await t2.balances()
            except TickwireError as e:
                seen.extend([str(e), repr(e), repr(e.__dict__)])

    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    seen.extend(r.getMessage() for r in caplog.records)
    seen.append(caplog.text)
    seen.append(audit.read_text())
    text = "\n".join(seen)
    assert len(text) > 1000 and "order_request" in text  # the scan saw the session's output
    for secret in (SECRET, PASSPHRASE, "wrong-secret"):
        assert secret not in text
