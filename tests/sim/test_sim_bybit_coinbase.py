"""Simulated Bybit v5 (venues.md §3.3) and Coinbase Advanced Trade (§5.2) market data."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from simclient import connect, get_json, settle
from tickwire.sim import Simulator


def apply(book: dict[str, dict[Decimal, Decimal]], side: str, levels: list[list[str]]) -> None:
    for p, q in levels:
        if Decimal(q) == 0:
            book[side].pop(Decimal(p), None)
        else:
            book[side][Decimal(p)] = Decimal(q)


def as_truth(book: dict[str, dict[Decimal, Decimal]]) -> tuple[list[Any], list[Any]]:
    return sorted(book["b"].items(), reverse=True), sorted(book["a"].items())


def test_bybit_orderbook50_snapshot_deltas_and_ground_truth() -> None:
    async def go() -> None:
        async with Simulator(["bybit"], seed=12, rate=0, depth=80) as sim:
            c = await connect(sim.urls()["bybit"][0]["ws"]["linear"])
            c.send(
                {"req_id": "r1", "op": "subscribe", "args": ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"]}
            )
            ack = await c.recv()
            assert ack["success"] is True and ack["op"] == "subscribe" and ack["req_id"] == "r1"
            snap = await c.recv()
            assert snap["type"] == "snapshot" and len(snap["data"]["b"]) == 50
            book = {"b": {}, "a": {}}  # type: dict[str, dict[Decimal, Decimal]]
            apply(book, "b", snap["data"]["b"])
            apply(book, "a", snap["data"]["a"])
            u = snap["data"]["u"]
            sim.advance(400, "bybit", "BTCUSDT")
            await settle()
            trades = 0
            for m in c.drain():
                if m["topic"].startswith("publicTrade"):
                    trades += len(m["data"])
                    assert all(t["S"] in ("Buy", "Sell") for t in m["data"])
                    continue
                assert m["type"] == "delta" and m["data"]["u"] == u + 1
                u = m["data"]["u"]
                apply(book, "b", m["data"]["b"])
                apply(book, "a", m["data"]["a"])
            truth = sim.book("bybit", "BTCUSDT", 50)
            assert as_truth(book) == (truth.bids, truth.asks)
            assert trades > 0
            rest = await get_json(
                sim.urls()["bybit"][0]["rest"] + "/v5/market/orderbook?category=linear&symbol=BTCUSDT&limit=5"
            )
            assert rest["retCode"] == 0 and len(rest["result"]["b"]) == 5

    asyncio.run(go())


def test_bybit_ping_shapes_and_level1_resend() -> None:
    async def go() -> None:
        async with Simulator(["bybit"], rate=0, timeouts={"level1_resend": 0.1}) as sim:
            spot = await connect(sim.urls()["bybit"][0]["ws"]["spot"])
            spot.send({"req_id": "p", "op": "ping"})
            pong = await spot.recv()
            assert pong["ret_msg"] == "pong" and pong["op"] == "ping" and "req_id" not in pong
            lin = await connect(sim.urls()["bybit"][0]["ws"]["linear"])
            lin.send({"req_id": "p", "op": "ping"})
            assert (await lin.recv())["req_id"] == "p"
            private = await connect(sim.urls()["bybit"][0]["ws"]["private"])
            private.send({"req_id": "test", "op": "ping"})
            pong = await private.recv()
            assert (pong["req_id"], pong["op"], list(pong)) == (
                "test",
                "pong",
                ["req_id", "op", "args", "conn_id"],
            )
            spot.send({"op": "subscribe", "args": ["orderbook.1.ETHUSDT"]})
            assert (await spot.recv())["ret_msg"] == "subscribe"
            first = await spot.recv()
            again = await spot.recv(1.0)  # no change: re-sent with the same u
            assert first["type"] == again["type"] == "snapshot" and again["data"]["u"] == first["data"]["u"]
            spot.send({"op": "subscribe", "args": ["orderbook.7.ETHUSDT"]})
            assert (await spot.recv())["success"] is False

    asyncio.run(go())


def test_coinbase_level2_sequence_heartbeats_and_ground_truth() -> None:
    async def go() -> None:
        async with Simulator(["coinbase"], seed=13, rate=0, depth=30, timeouts={"heartbeat": 0.05}) as sim:
            c = await connect(sim.urls()["coinbase"][0]["ws"]["market"])
            c.send({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"})
            snap = await c.recv()
            assert snap["channel"] == "l2_data" and snap["events"][0]["type"] == "snapshot"
            subs = await c.recv()
            assert subs["channel"] == "subscriptions" and subs["events"][0]["subscriptions"] == {
                "level2": ["BTC-USD"]
            }
            book: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "offer": {}}
            seqs = [snap["sequence_num"], subs["sequence_num"]]

            def take(m: dict[str, Any]) -> None:
                for u in m["events"][0]["updates"]:
                    side = book[u["side"]]
                    if Decimal(u["new_quantity"]) == 0:
                        side.pop(Decimal(u["price_level"]), None)
                    else:
                        side[Decimal(u["price_level"])] = Decimal(u["new_quantity"])

            take(snap)
            sim.advance(100, "coinbase", "BTC-USD")
            sim.endpoint("coinbase").gap("BTC-USD")
            sim.advance(1, "coinbase", "BTC-USD")
            await settle()
            ms = c.drain()
            seqs += [m["sequence_num"] for m in ms]
            assert seqs[:102] == list(range(seqs[0], seqs[0] + 102))
            for m in ms:
                take(m)
            truth = sim.book("coinbase", "BTC-USD")
            # One update was withheld by the gap fault: the local book is behind by exactly it.
            assert (
                sorted(book["bid"].items(), reverse=True) != truth.bids
                or sorted(book["offer"].items()) != truth.asks
            )
            c.send({"type": "subscribe", "channel": "heartbeats"})
            await c.recv()
            hb1 = await c.until(lambda m: m["channel"] == "heartbeats")
            hb2 = await c.until(lambda m: m["channel"] == "heartbeats")
            assert hb2["events"][0]["heartbeat_counter"] == hb1["events"][0]["heartbeat_counter"] + 1
            assert hb2["sequence_num"] > seqs[-1] + 1  # the withheld message's number was skipped

    asyncio.run(go())


def test_coinbase_disconnects_if_no_subscription_in_time() -> None:
    async def go() -> None:
        async with Simulator(["coinbase"], rate=0, timeouts={"subscribe_within": 0.1}) as sim:
            idle = await connect(sim.urls()["coinbase"][0]["ws"]["market"])
            busy = await connect(sim.urls()["coinbase"][0]["ws"]["market"])
            busy.send({"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "market_trades"})
            await asyncio.wait_for(idle.closed, 1.0)
            await settle(0.1)
            assert not busy.closed.done()

    asyncio.run(go())
