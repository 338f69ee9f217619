"""Simulated Clarofinlore and Tradefence market data (seed-venues.md defaults)."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import pytest
from picows import WSMsgType
from simclient import connect, settle
from tickwire.sim import Simulator

DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "zlib": zlib.decompress,
    "deflate": lambda b: zlib.decompress(b, wbits=-15),
    "gzip": gzip.decompress,
}


@pytest.mark.parametrize("compression", ["zlib", "deflate", "gzip"])
def test_clarofinlore_compression_profile_and_book(compression: str) -> None:
    async def go() -> None:
        profiles = {"clarofinlore": {"compression": compression}}
        async with Simulator(
            ["clarofinlore"], seed=14, rate=0, depth=20, profiles=profiles, timeouts={"publish": 0.02}
        ) as sim:
            c = await connect(sim.urls()["clarofinlore"][0]["ws"]["stream"])
            c.send({"op": "subscribe", "channels": ["orderbook.btc-usdt"]})
            frames: list[bytes] = []

            async def recv() -> Any:
                t, data = await c.raw()
                assert t is WSMsgType.BINARY
                frames.append(data)
                return orjson.loads(DECOMPRESS[compression](data))

            assert await recv() == {"type": "subscribed", "channel": "orderbook.btc-usdt"}
            snap = await recv()
            assert snap["type"] == "snapshot"
            book = {"bids": {}, "asks": {}}  # type: dict[str, dict[Decimal, Decimal]]
            seq = snap["seq"]
            for side in book:
                book[side] = {Decimal(p): Decimal(q) for p, q in snap[side]}
            sim.advance(200, "clarofinlore", "btc-usdt")
            await asyncio.sleep(0.1)  # merged updates go out every publish interval
            sim.advance(100, "clarofinlore", "btc-usdt")
            await asyncio.sleep(0.1)
            n = 0
            while not c.q.empty():
                m = await recv()
                assert m["prev_seq"] == seq and m["type"] == "update"
                seq = m["seq"]
                for side in book:
                    for p, q in m[side]:
                        if Decimal(q) == 0:
                            book[side].pop(Decimal(p), None)
                        else:
                            book[side][Decimal(p)] = Decimal(q)
                n += 1
            assert 2 <= n <= 20, "updates are merged per interval, not one per event"
            truth = sim.book("clarofinlore", "btc-usdt")
            assert sorted(book["bids"].items(), reverse=True) == truth.bids
            assert sorted(book["asks"].items()) == truth.asks
            # The profile really changes the encoding: the other decoders refuse these frames.
            for other, fn in DECOMPRESS.items():
                if other != compression:
                    with pytest.raises((zlib.error, OSError, gzip.BadGzipFile)):
                        fn(frames[-1])

    asyncio.run(go())


def test_tradefence_book_quote_trade() -> None:
    async def go() -> None:
        async with Simulator(["tradefence"], seed=15, rate=0, depth=20) as sim:
            c = await connect(sim.urls()["tradefence"][0]["ws"]["market_data"])
            c.send({"action": "subscribe", "symbols": ["AAPL", "MSFT"]})
            err = await c.recv()
            assert err["type"] == "error" and err["code"] == 1004
            assert await c.recv() == {"type": "subscribed", "symbols": ["AAPL"]}
            snap = await c.recv()
            assert snap["type"] == "book" and snap["action"] == "snapshot"
            book = {s: {Decimal(p): Decimal(q) for p, q in snap[s]} for s in ("bids", "asks")}
            seq = snap["seq"]
            sim.advance(300, "tradefence", "AAPL")
            await settle()
            kinds = set()
            last_quote = None
            for m in c.drain():
                kinds.add(m["type"])
                if m["type"] == "quote":
                    last_quote = m
                if m["type"] != "book":
                    continue
                assert m["prev_seq"] == seq
                seq = m["seq"]
                for s in book:
                    for p, q in m[s]:
                        if Decimal(q) == 0:
                            book[s].pop(Decimal(p), None)
                        else:
                            book[s][Decimal(p)] = Decimal(q)
            assert kinds == {"book", "quote", "trade"}
            truth = sim.book("tradefence", "AAPL")
            assert sorted(book["bids"].items(), reverse=True) == truth.bids
            assert last_quote is not None
            assert (Decimal(last_quote["ask"]), Decimal(last_quote["ask_size"])) == truth.asks[0]

    asyncio.run(go())
