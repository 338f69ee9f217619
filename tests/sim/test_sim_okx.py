"""The simulated OKX against venues.md §2.3: seqId chain, checksums recomputed independently from the
strings as received, and the local book equal to the simulator's ground truth."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from captures import okx_crc as reference_checksum
from simclient import connect, get_json, settle
from tickwire.sim import Simulator
from tickwire.sim.venues.okx import okx_checksum


def test_published_vector() -> None:
    # §8: the simulator's own checksum function against the published value.
    assert okx_checksum([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]) == -1881014294
    assert (
        reference_checksum([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]]) == -1881014294
    )


class LocalBook:
    def __init__(self) -> None:
        self.bids: dict[str, list[str]] = {}
        self.asks: dict[str, list[str]] = {}
        self.seq: int | None = None

    def apply(self, action: str, d: dict[str, Any]) -> None:
        if action == "snapshot":
            assert d["prevSeqId"] == -1
            self.bids, self.asks = {}, {}
        else:
            assert d["prevSeqId"] == self.seq, "prevSeqId must equal the previous seqId"
        for side, levels in ((self.bids, d["bids"]), (self.asks, d["asks"])):
            for lv in levels:
                if lv[1] == "0":
                    side.pop(lv[0], None)
                else:
                    side[lv[0]] = lv
        self.seq = d["seqId"]

    def sorted(self) -> tuple[list[list[str]], list[list[str]]]:
        return (
            sorted(self.bids.values(), key=lambda lv: -Decimal(lv[0])),
            sorted(self.asks.values(), key=lambda lv: Decimal(lv[0])),
        )


def test_books_snapshot_updates_checksums_and_ground_truth() -> None:
    async def go() -> None:
        async with Simulator(["okx"], seed=2, rate=0, depth=40) as sim:
            c = await connect(sim.urls()["okx"][0]["ws"]["public"])
            c.send({"id": "7", "op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
            ack = await c.recv()
            assert ack["id"] == "7" and ack["event"] == "subscribe" and "connId" in ack
            assert ack["arg"] == {"channel": "books", "instId": "BTC-USDT"}
            book = LocalBook()
            snap = await c.recv()
            assert snap["action"] == "snapshot"
            book.apply("snapshot", snap["data"][0])
            sim.advance(400, "okx", "BTC-USDT")
            await settle()
            n = 0
            for m in c.drain():
                d = m["data"][0]
                book.apply(m["action"], d)
                bids, asks = book.sorted()
                assert reference_checksum(bids, asks) == d["checksum"]
                for lv in d["bids"] + d["asks"]:
                    assert len(lv) == 4 and lv[2] == "0"
                    assert not lv[0].endswith("0") or "." not in lv[0]  # trailing zeros stripped
                n += 1
            assert n > 100
            truth = sim.book("okx", "BTC-USDT")
            bids, asks = book.sorted()
            assert [(Decimal(p), Decimal(q)) for p, q, *_ in bids] == truth.bids
            assert [(Decimal(p), Decimal(q)) for p, q, *_ in asks] == truth.asks
            rest = await get_json(
                sim.urls()["okx"][0]["rest"] + "/api/v5/market/books?instId=BTC-USDT&sz=400"
            )
            assert rest["code"] == "0" and rest["data"][0]["bids"] == bids

    asyncio.run(go())


def test_ping_pong_bbo_trades_and_errors() -> None:
    async def go() -> None:
        async with Simulator(["okx"], seed=4, rate=0, depth=20) as sim:
            c = await connect(sim.urls()["okx"][0]["ws"]["public"])
            c.send(b"ping")
            assert await c.recv() == "pong"
            c.send({"op": "subscribe", "args": [{"channel": "bbo-tbt", "instId": "ETH-USDT"}]})
            c.send({"op": "subscribe", "args": [{"channel": "trades", "instId": "ETH-USDT"}]})
            c.send({"op": "subscribe", "args": [{"channel": "books", "instId": "NOPE-USDT"}]})
            acks = [await c.recv() for _ in range(3)]
            assert [a["event"] for a in acks] == ["subscribe", "subscribe", "error"]
            assert acks[2]["code"] == "60018"
            sim.advance(300, "okx", "ETH-USDT")
            await settle()
            msgs = c.drain()
            bbos = [m["data"][0] for m in msgs if m["arg"]["channel"] == "bbo-tbt"]
            trades = [t for m in msgs if m["arg"]["channel"] == "trades" for t in m["data"]]
            assert bbos and trades
            truth = sim.book("okx", "ETH-USDT", 1)
            assert (Decimal(bbos[-1]["bids"][0][0]), Decimal(bbos[-1]["bids"][0][1])) == truth.bids[0]
            assert {t["side"] for t in trades} <= {"buy", "sell"}

    asyncio.run(go())


def test_idle_book_heartbeat_and_idle_cut() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, timeouts={"book_idle": 0.05, "idle_cut": 0.3}) as sim:
            url = sim.urls()["okx"][0]["ws"]["public"]
            lazy = await connect(url)  # never subscribes: cut after idle_cut
            c = await connect(url)
            c.send({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
            await c.recv()
            snap = (await c.recv())["data"][0]
            hb = (await c.recv(1.0))["data"][0]
            assert hb["bids"] == [] and hb["asks"] == [] and hb["prevSeqId"] == hb["seqId"] == snap["seqId"]
            await asyncio.wait_for(lazy.closed, 1.0)
            assert not c.closed.done()

    asyncio.run(go())


def test_profile_book_snapshot_rest_sends_updates_only_and_rest_books_carry_the_streams_seq_id() -> None:
    """``{"book_snapshot": "rest"}``: as OKX announced for its book channels, a subscription gets no
    snapshot, only updates; ``GET /api/v5/market/books`` is the book at its ``seqId``, which OKX's
    procedure places in the stream: the next update has ``prevSeqId <= seqId < its seqId``, and the
    REST book with every later update is the truth. (Before: the first message was the snapshot.)"""

    async def go() -> None:
        profiles = {"okx": {"book_snapshot": "rest"}}
        async with Simulator(["okx"], seed=5, rate=0, depth=40, profiles=profiles) as sim:
            c = await connect(sim.urls()["okx"][0]["ws"]["public"])
            c.send({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
            assert (await c.recv())["event"] == "subscribe"
            sim.advance(30, "okx", "BTC-USDT")
            await settle()
            before = c.drain()
            assert before and {m["action"] for m in before} == {"update"}
            url = sim.urls()["okx"][0]["rest"] + "/api/v5/market/books?instId=BTC-USDT&sz=400"
            rest = (await get_json(url))["data"][0]
            sim.advance(200, "okx", "BTC-USDT")
            await settle()
            after = [m["data"][0] for m in c.drain()]
            assert after[0]["prevSeqId"] <= rest["seqId"] < after[0]["seqId"]
            assert before[-1]["data"][0]["seqId"] == after[0]["prevSeqId"]
            book = LocalBook()
            book.apply("snapshot", {**rest, "prevSeqId": -1})
            kept = [d for d in after if d["seqId"] > rest["seqId"]]
            book.seq = kept[0]["prevSeqId"]  # the first kept update continues or straddles it
            for d in kept:
                book.apply("update", d)
            truth = sim.book("okx", "BTC-USDT")
            bids, asks = book.sorted()
            assert [(Decimal(p), Decimal(q)) for p, q, *_ in bids] == truth.bids
            assert [(Decimal(p), Decimal(q)) for p, q, *_ in asks] == truth.asks

    asyncio.run(go())
