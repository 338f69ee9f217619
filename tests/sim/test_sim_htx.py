"""The simulated HTX against venues.md §6.2: gzip binary frames, ping/pong with the cut after two
unanswered pings, and the official MBP sync (REQ refresh aligned on prevSeqNum) reaching ground truth."""

from __future__ import annotations

import asyncio
import gzip
import json
from decimal import Decimal
from typing import Any

from picows import WSMsgType
from simclient import Client, connect, settle
from tickwire.sim import Simulator


async def recv_gz(c: Client, timeout: float = 2.0) -> Any:
    t, data = await c.raw(timeout)
    assert t is WSMsgType.BINARY
    return json.loads(gzip.decompress(data), parse_float=Decimal)


async def recv_data(c: Client, timeout: float = 2.0) -> Any:
    while True:  # pings are answered by the caller where it matters; skip them here
        m = await recv_gz(c, timeout)
        if "ping" not in m:
            return m


def test_pings_gzip_and_cut_after_two_unanswered() -> None:
    async def go() -> None:
        async with Simulator(["htx"], rate=0, timeouts={"ping_interval": 0.05}) as sim:
            url = sim.urls()["htx"][0]["ws"]["ws"]
            silent = await connect(url)
            polite = await connect(url)
            for _ in range(4):
                m = await recv_gz(polite)
                assert isinstance(m["ping"], int)
                polite.send({"pong": m["ping"]})
            assert (await recv_gz(silent))["ping"] and (await recv_gz(silent))["ping"]
            await asyncio.wait_for(silent.closed, 1.0)
            assert not polite.closed.done()
            polite.send({"pong": "abc"})
            err = await recv_data(polite)
            assert err["status"] == "error" and err["err-code"] == "bad-request"

    asyncio.run(go())


def test_mbp_sync_with_req_reaches_ground_truth() -> None:
    async def go() -> None:
        async with Simulator(["htx"], seed=6, rate=0, depth=40) as sim:
            ch = "market.btcusdt.mbp.20"
            ws = await connect(sim.urls()["htx"][0]["ws"]["ws"])
            ws.send({"sub": ch, "id": "a"})
            assert (await recv_data(ws))["status"] == "error"  # MBP increments live on /feed only
            c = await connect(sim.urls()["htx"][0]["ws"]["feed"])
            c.send({"sub": ch, "id": "id1"})
            ack = await recv_data(c)
            assert ack["id"] == "id1" and ack["status"] == "ok" and ack["subbed"] == ch
            sim.advance(50, "htx", "btcusdt")
            c.send({"req": ch, "id": "id21"})
            await settle()  # the REQ is answered between the increments
            sim.advance(150, "htx", "btcusdt")
            await settle()
            cached, refresh = [], None
            while not c.q.empty():
                m = await recv_data(c)
                if m.get("rep") == ch:
                    refresh = m["data"]
                else:
                    assert m["ch"] == ch
                    cached.append(m["tick"])
            assert refresh is not None
            bids = {p: q for p, q in refresh["bids"]}
            asks = {p: q for p, q in refresh["asks"]}
            seq = refresh["seqNum"]
            start = next(i for i, t in enumerate(cached) if t["prevSeqNum"] == seq)
            for t in cached[start:]:
                assert t["prevSeqNum"] == seq
                for side, key in ((bids, "bids"), (asks, "asks")):
                    for p, q in t.get(key, []):
                        if q == 0:
                            side.pop(p, None)
                        else:
                            side[p] = q
                seq = t["seqNum"]
            truth = sim.book("htx", "btcusdt", 20)
            assert sorted(bids.items(), reverse=True) == truth.bids
            assert sorted(asks.items()) == truth.asks

    asyncio.run(go())


def test_depth_step_and_bbo() -> None:
    async def go() -> None:
        async with Simulator(["htx"], seed=6, rate=0, depth=40, timeouts={"depth_step": 0.05}) as sim:
            c = await connect(sim.urls()["htx"][0]["ws"]["ws"])
            c.send({"sub": ["market.ethusdt.depth.step0", "market.ethusdt.bbo"], "id": 3})
            assert (await recv_data(c))["subbed"] == "market.ethusdt.depth.step0"
            assert (await recv_data(c))["subbed"] == "market.ethusdt.bbo"
            snap = await recv_data(c)
            assert snap["ch"] == "market.ethusdt.depth.step0"
            truth = sim.book("htx", "ethusdt", 150)
            assert [tuple(x) for x in snap["tick"]["bids"]] == truth.bids
            sim.advance(100, "htx", "ethusdt")
            await settle()
            bbos = [m["tick"] for m in c.drain() if m.get("ch") == "market.ethusdt.bbo"]
            assert bbos
            top = sim.book("htx", "ethusdt", 1)
            assert (Decimal(str(bbos[-1]["bid"])), Decimal(str(bbos[-1]["bidSize"]))) == top.bids[0]

    asyncio.run(go())
