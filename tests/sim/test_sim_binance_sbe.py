"""The simulated Binance SBE streams against the published schema (../shared/specs/binance-sbe): a
decoder written here from the XML (field order and types read from the file) rebuilds the book
with the official sync rules, U = firstBookUpdateId and u = lastBookUpdateId."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from picows import WSHandshakeError
from sbe_schema import SchemaDecoder, dec
from shared_files import shared_path
from simclient import connect, get_json, settle
from tickwire.sim import ApiKey, Simulator


def ed_key() -> tuple[ApiKey, str]:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return ApiKey("sbe-key", public_key=pem), "sbe-key"


def test_sbe_needs_an_ed25519_key() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0) as sim:
            v = sim.venue("binance")
            key, name = ed_key()
            v.add_key(key)  # type: ignore[attr-defined]
            v.add_key(ApiKey("hmac-key", secret=b"s"))  # type: ignore[attr-defined]
            url = sim.urls()["binance"][0]["ws"]["sbe_ws"] + "/btcusdt@depth"
            for hdrs in ({}, {"X-MBX-APIKEY": "hmac-key"}, {"X-MBX-APIKEY": "unknown"}):
                with pytest.raises(WSHandshakeError) as e:
                    await connect(url, headers=hdrs)
                assert e.value.response is not None and e.value.response.status == 401
            (await connect(url, headers={"X-MBX-APIKEY": name})).close()

    asyncio.run(go())


def test_sbe_diff_stream_syncs_with_rest_snapshot() -> None:
    decoder = SchemaDecoder(shared_path("specs", "binance-sbe", "stream_1_0.xml"))

    async def go() -> None:
        async with Simulator(["binance"], seed=21, rate=0, depth=30) as sim:
            key, name = ed_key()
            sim.venue("binance").add_key(key)  # type: ignore[attr-defined]
            u = sim.urls()["binance"][0]
            c = await connect(
                u["ws"]["sbe_stream"] + "?streams=btcusdt@depth/btcusdt@trade", headers={"X-MBX-APIKEY": name}
            )
            c.send({"method": "SUBSCRIBE", "params": ["btcusdt@bestBidAsk", "btcusdt@depth20"], "id": 1})
            assert await c.recv() == {"result": None, "id": 1}
            sim.advance(20, "binance", "BTCUSDT")
            await settle()
            buffered = []
            while not c.q.empty():
                buffered.append(decoder.decode((await c.raw())[1]))
            snap = await get_json(u["rest"] + "/api/v3/depth?symbol=BTCUSDT&limit=1000")
            sim.advance(200, "binance", "BTCUSDT")
            await settle()
            while not c.q.empty():
                buffered.append(decoder.decode((await c.raw())[1]))
            names = {m["_name"] for m in buffered}
            assert names == {
                "DepthDiffStreamEvent",
                "TradesStreamEvent",
                "BestBidAskStreamEvent",
                "DepthSnapshotStreamEvent",
            }
            book_id = snap["lastUpdateId"]
            bids = {Decimal(p): Decimal(q) for p, q in snap["bids"]}
            asks = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
            diffs = [m for m in buffered if m["_name"] == "DepthDiffStreamEvent"]
            assert diffs[0]["firstBookUpdateId"] <= book_id
            for m in diffs:
                if m["lastBookUpdateId"] <= book_id:
                    continue
                assert m["firstBookUpdateId"] <= book_id + 1
                for side, rows in ((bids, m["bids"]), (asks, m["asks"])):
                    for r in rows:
                        p, q = dec(r["price"], m["priceExponent"]), dec(r["qty"], m["qtyExponent"])
                        if q == 0:
                            side.pop(p, None)
                        else:
                            side[p] = q
                book_id = m["lastBookUpdateId"]
            truth = sim.book("binance", "BTCUSDT")
            assert book_id == truth.update_id
            assert sorted(bids.items(), reverse=True) == truth.bids and sorted(asks.items()) == truth.asks
            last_bbo = [m for m in buffered if m["_name"] == "BestBidAskStreamEvent"][-1]
            assert (
                dec(last_bbo["bidPrice"], last_bbo["priceExponent"]),
                dec(last_bbo["bidQty"], last_bbo["qtyExponent"]),
            ) == truth.bids[0]
            last20 = [m for m in buffered if m["_name"] == "DepthSnapshotStreamEvent"][-1]
            assert last20["bookUpdateId"] == truth.update_id and len(last20["asks"]) == 20
            assert all(m["symbol"] == "BTCUSDT" for m in buffered)

    asyncio.run(go())
