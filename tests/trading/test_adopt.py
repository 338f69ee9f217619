"""A restarted script's session adopts the orders its earlier run left open (``adopt``, default: this
strategy's client-id prefix), against the simulator's own order list and fills."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from kill_cases import ACCOUNTS, SYMBOLS, funded, rest_buy
from session_cases import settle


async def trade_through(sim: Any, venue: str, symbol: str, client_id: str) -> Any:
    """The simulator's market process stepped until it has traded through the order; the order."""
    v = sim.venue(venue)
    [order] = [o for o in v.engine.orders.values() if o.client_id == client_id]
    for i in range(200_000):
        if not order.open:
            break
        v.book_step(symbol)
        if i % 500 == 0:
            await asyncio.sleep(0)
    assert order.status == "FILLED", "the market traded through the resting buy"
    return order


@pytest.mark.parametrize("venue", ["binance", "okx", "kraken"])
def test_a_restarted_session_adopts_its_open_orders_and_counts_their_fills_once(venue: str) -> None:
    """A script rests a buy at the best bid; another strategy on the key rests one lower; both stop (a
    clean close leaves orders open). Restarted with the same strategy, the session tracks its own order
    again — in ``open_orders()``, the other strategy's not — and when the market trades through it
    every fill reaches ``on_fill`` once, as the simulator recorded them (before: the tracker ignored
    every event of an order it had not placed itself, so the restarted script never saw the fills)."""
    _, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]

    async def go() -> None:
        async with funded(venue) as sim:
            urls = sim.urls()[venue]
            async with tickwire.trade(venue, credentials=signer, endpoints=urls, strategy="mm") as tr:
                mine = await rest_buy(sim, tr, symbol, 0)
            async with tickwire.trade(venue, credentials=signer, endpoints=urls, strategy="other") as tr:
                theirs = await rest_buy(sim, tr, symbol, 30)
            fills: list[Any] = []
            async with tickwire.trade(
                venue, credentials=signer, endpoints=urls, strategy="mm", on_fill=fills.append
            ) as tr:
                assert [o.client_id for o in tr.tracker.open_orders()] == [mine.client_id]
                assert tr.tracker.get(theirs.client_id) is None
                order = await trade_through(sim, venue, symbol, mine.client_id)
                await settle(lambda: tr._current(mine.client_id).status == "filled", "the fills")
                assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in order.fills)
                assert tr._current(mine.client_id).filled == mine.qty
                assert {f.client_id for f in fills} == {mine.client_id}

    asyncio.run(go())


def test_adopt_false_leaves_an_earlier_runs_orders_untracked() -> None:
    _, signer, _ = ACCOUNTS["binance"]

    async def go() -> None:
        async with funded("binance") as sim:
            urls = sim.urls()["binance"]
            async with tickwire.trade("binance", credentials=signer, endpoints=urls, strategy="mm") as tr:
                mine = await rest_buy(sim, tr, "BTCUSDT", 10)
            async with tickwire.trade(
                "binance", credentials=signer, endpoints=urls, strategy="mm", adopt=False
            ) as tr:
                assert tr.tracker.open_orders() == [] and tr.tracker.get(mine.client_id) is None

    asyncio.run(go())
