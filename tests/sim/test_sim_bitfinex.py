"""The simulated Bitfinex book channel against venues.md §7: checksums recomputed by an independent
reference (itself checked on the published vector) after every update, and the top 25 equal to the
simulator's ground truth."""

from __future__ import annotations

import asyncio
import json
import zlib
from decimal import Decimal
from typing import Any

from simclient import connect, settle
from tickwire.sim import Simulator
from tickwire.sim.venues.bitfinex import bitfinex_checksum


def reference(
    bids: dict[Decimal, str],
    asks: dict[Decimal, str],
    bid_text: dict[Decimal, str],
    ask_text: dict[Decimal, str],
) -> int:
    b = sorted(bids, reverse=True)[:25]
    a = sorted(asks)[:25]
    parts: list[str] = []
    for i in range(25):
        if i < len(b):
            parts += [bid_text[b[i]], bids[b[i]]]
        if i < len(a):
            parts += [ask_text[a[i]], asks[a[i]]]
    v = zlib.crc32(":".join(parts).encode())
    return v - 2**32 if v & 0x80000000 else v


def test_published_vector() -> None:
    # §8: "6000:1:6100:-3:5900:2:6200:-4" -> 1756193398
    assert bitfinex_checksum([("6000", "1"), ("5900", "2")], [("6100", "-3"), ("6200", "-4")]) == 1756193398
    one = {Decimal(6000): "1", Decimal(5900): "2"}
    two = {Decimal(6100): "-3", Decimal(6200): "-4"}
    text = {k: str(k) for k in [*one, *two]}
    assert reference(one, two, text, text) == 1756193398


def test_book_checksums_and_ground_truth() -> None:
    async def go() -> None:
        async with Simulator(["bitfinex"], seed=10, rate=0, depth=40) as sim:
            c = await connect(sim.urls()["bitfinex"][0]["ws"]["public"])
            assert (await c.recv())["event"] == "info"
            c.send({"event": "conf", "flags": 131072})
            assert (await c.recv())["status"] == "OK"
            c.send({"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": "P0", "len": "25"})
            ack = await c.recv()
            chan = ack["chanId"]
            bids: dict[Decimal, str] = {}
            asks: dict[Decimal, str] = {}
            text: dict[Decimal, str] = {}

            def apply(level: list[Any], raw: list[str]) -> None:
                _, count, amount = level
                p = Decimal(raw[0])
                if count == 0:
                    (bids if amount > 0 else asks).pop(p, None)
                else:
                    (bids if amount > 0 else asks)[p] = raw[2]
                    text[p] = raw[0]

            def raw_levels(frame: bytes) -> list[list[str]]:
                # the numbers exactly as written on the wire
                return json.loads(frame, parse_float=str, parse_int=str)[1]  # type: ignore[no-any-return]

            _, frame = await c.raw()
            snap = json.loads(frame)
            for lv, raw in zip(snap[1], raw_levels(frame), strict=True):
                apply(lv, raw)
            first_cs = json.loads((await c.raw())[1])
            assert first_cs[1] == "cs" and first_cs[2] == reference(bids, asks, text, text)
            sim.advance(300, "bitfinex", "tBTCUSD")
            await settle()
            checked = 0
            while not c.q.empty():
                _, frame = c.q.get_nowait()
                m = json.loads(frame)
                assert m[0] == chan
                if m[1] == "cs":
                    assert m[2] == reference(bids, asks, text, text)
                    checked += 1
                elif m[1] != "hb":
                    apply(m[1], raw_levels(frame))
            assert checked > 100
            truth = sim.book("bitfinex", "tBTCUSD", 25)
            assert sorted(((p, Decimal(q)) for p, q in bids.items()), reverse=True) == truth.bids
            assert sorted((p, -Decimal(q)) for p, q in asks.items()) == truth.asks
            sim.endpoint("bitfinex").corrupt_checksum("tBTCUSD")
            sim.advance(30, "bitfinex", "tBTCUSD")
            await settle()
            verdicts = []
            while not c.q.empty():
                _, frame = c.q.get_nowait()
                m = json.loads(frame)
                if m[1] == "cs":
                    verdicts.append(m[2] == reference(bids, asks, text, text))
                elif m[1] != "hb":
                    apply(m[1], raw_levels(frame))
            assert len(verdicts) > 5 and verdicts.count(False) == 1  # exactly the corrupted one

    asyncio.run(go())
