"""Every venue under load at once: clock-driven books, a subscriber per venue, all timers running;
the simulator's own loops must raise nothing, and every subscriber must receive data."""

from __future__ import annotations

import asyncio
from typing import Any

from simclient import Client, connect
from tickwire.sim import VENUES, Simulator

SUBSCRIBE: dict[str, tuple[str, str, Any]] = {
    "binance": ("stream", "?streams=btcusdt@depth/btcusdt@depth5/btcusdt@bookTicker", None),
    "binance-usdm": ("stream", "?streams=btcusdt@depth/btcusdt@depth5@100ms/btcusdt@bookTicker", None),
    "okx": ("public", "", {"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}),
    "kraken": ("v2", "", {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"]}}),
    "htx": ("feed", "", {"sub": "market.btcusdt.mbp.20", "id": "1"}),
    "bitfinex": ("public", "", {"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "len": "25"}),
    "bybit": ("spot", "", {"op": "subscribe", "args": ["orderbook.50.BTCUSDT", "orderbook.1.ETHUSDT"]}),
    "coinbase": ("market", "", {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"}),
    "clarofinlore": ("stream", "", {"op": "subscribe", "channels": ["orderbook.btc-usdt"]}),
    "tradefence": ("market_data", "", {"action": "subscribe", "symbols": ["AAPL"]}),
    "cloud9trader": ("socket", "", None),
}


def test_every_venue_runs_clean_under_the_clock() -> None:
    assert set(SUBSCRIBE) == set(VENUES)

    async def go() -> None:
        # Pings are slowed so the silent test clients are not cut (the cut has its own tests).
        slow_pings = {"ping_interval": 5.0}
        async with Simulator(
            list(VENUES), seed=4, rate=300, depth=30, time_scale=0.01, timeouts=slow_pings
        ) as sim:
            clients: dict[str, Client] = {}
            for name, (label, query, sub) in SUBSCRIBE.items():
                if name == "cloud9trader":
                    continue  # needs signed upgrade headers: covered in its own test
                c = await connect(sim.urls()[name][0]["ws"][label] + query)
                if sub is not None:
                    c.send(sub)
                clients[name] = c
            await asyncio.sleep(0.6)
            assert sim.errors == []
            for name, c in clients.items():
                assert c.q.qsize() > 5, name
                assert not c.closed.done(), name

    asyncio.run(go())
