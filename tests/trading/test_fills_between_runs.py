"""Fills made while no run of a script was up never reach ``on_fill`` (an order they filled completely
is not adopted: nothing of it is open). What the README offers instead — the account's executions
since the last run stopped, ``tr.fills(symbol, since_ms=…)``, picked by the venue order ids that run
kept — gives every such fill once, as the simulator recorded them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import tickwire
from kill_cases import ACCOUNTS, SYMBOLS, funded, rest_buy
from test_adopt import trade_through


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_fills_made_while_no_run_was_up_are_read_back_by_the_orders_the_last_run_kept(venue: str) -> None:
    _, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]

    async def go() -> None:
        async with funded(venue) as sim:
            urls = sim.urls()[venue]
            async with tickwire.trade(venue, credentials=signer, endpoints=urls, strategy="mm") as tr:
                mine = await rest_buy(sim, tr, symbol, 0)
                other = await rest_buy(sim, tr, symbol, 40)  # stays resting: not among the fills
            kept = {mine.order_id}  # what the script stored of its open orders as it stopped
            stopped_ms = int(time.time() * 1000)
            order = await trade_through(sim, venue, symbol, mine.client_id)
            heard: list[Any] = []
            async with tickwire.trade(
                venue, credentials=signer, endpoints=urls, strategy="mm", on_fill=heard.append
            ) as tr:
                # Only the order still open is adopted; the filled one is not, and no fill of it is
                # heard.
                assert [o.client_id for o in tr.tracker.open_orders()] == [other.client_id]
                await asyncio.sleep(0.3)
                assert heard == []
                got = [f for f in await tr.fills(symbol, since_ms=stopped_ms - 1000) if f.order_id in kept]
            assert sorted(f.trade_id for f in got) == sorted(str(f.trade_id) for f in order.fills)
            assert sum(f.qty for f in got) == mine.qty

    asyncio.run(go())
