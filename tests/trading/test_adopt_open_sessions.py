"""Two sessions of one process under one strategy name on one key (one per symbol, say): each is
the other's sibling, not its earlier run. Neither adopts what the other places — its fills reach the
session that placed it alone, as the simulator recorded them — while an order a closed session of
the process left open is adopted as a restart's is."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from kill_cases import ACCOUNTS, SYMBOLS, funded, rest_buy
from session_cases import settle
from test_adopt import trade_through


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_a_live_session_of_the_same_strategy_does_not_adopt_the_others_orders(venue: str) -> None:
    _, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]

    async def go() -> None:
        async with funded(venue) as sim:
            kw: dict[str, Any] = {"credentials": signer, "endpoints": sim.urls()[venue], "strategy": "mm"}
            fa: list[Any] = []
            fb: list[Any] = []
            async with tickwire.trade(venue, on_fill=fa.append, **kw) as a:
                async with tickwire.trade(venue, on_fill=fb.append, **kw) as b:
                    mine = await rest_buy(sim, a, symbol, 0)
                    order = await trade_through(sim, venue, symbol, mine.client_id)
                    await settle(lambda: a.tracker.get(mine.client_id).status == "filled", "a's fills")
                    await asyncio.sleep(0.3)  # b's stream has heard them too
                    assert sorted(f.trade_id for f in fa) == sorted(str(f.trade_id) for f in order.fills)
                    assert fb == [], f"b counted a's fills: {[f.trade_id for f in fb]}"
                    assert b.tracker.get(mine.client_id) is None
                    assert b.risk.exposure(symbol)["position"] == 0
                # a closes with an order resting: a later session of the strategy adopts it.
                left = await rest_buy(sim, a, symbol, 30)
            async with tickwire.trade(venue, **kw) as c:
                assert [o.client_id for o in c.tracker.open_orders()] == [left.client_id]

    asyncio.run(go())
