"""The simulator's messages against real captured venue traffic (../shared/fixtures/real): same keys,
same value types, same framing; and the checksum references the simulator tests rely on verify the
real venues' own checksums."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from captures import decoded, okx_checksum
from shared_files import shared_path
from simclient import connect, get_json, settle
from tickwire.sim import Simulator


def capture(name: str) -> Iterator[tuple[str, str, Any]]:
    """(kind, url, decoded JSON) for every text or gzip frame / REST body of a capture file."""
    return decoded(shared_path("fixtures", "real", name))


def shape(v: Any) -> Any:
    """Keys and value types, recursively (lists by their first element)."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    return type(v).__name__


def first(name: str, pred: Any) -> Any:
    return next(m for kind, _, m in capture(name) if kind in ("recv", "http") and pred(m))


def test_binance_spot_and_usdm_shapes_match_captures() -> None:
    real_spot = first(
        "binance_spot.jsonl", lambda m: isinstance(m, dict) and m.get("data", {}).get("e") == "depthUpdate"
    )
    real_spot_bt = first(
        "binance_spot.jsonl", lambda m: isinstance(m, dict) and "bookTicker" in m.get("stream", "")
    )
    real_spot_rest = first("binance_spot.jsonl", lambda m: isinstance(m, dict) and "lastUpdateId" in m)
    real_fut = first(
        "binance_usdm.jsonl", lambda m: isinstance(m, dict) and m.get("data", {}).get("e") == "depthUpdate"
    )
    real_fut_bt = first(
        "binance_usdm.jsonl", lambda m: isinstance(m, dict) and "bookTicker" in m.get("stream", "")
    )
    real_fut_rest = first("binance_usdm.jsonl", lambda m: isinstance(m, dict) and "lastUpdateId" in m)

    async def go() -> None:
        async with Simulator(["binance", "binance-usdm"], rate=0, depth=20) as sim:
            out = {}
            for venue, prefix in (("binance", "/api/v3"), ("binance-usdm", "/fapi/v1")):
                ep = sim.urls()[venue][0]
                c = await connect(ep["ws"]["stream"] + "?streams=btcusdt@depth@100ms/btcusdt@bookTicker")
                sim.advance(30, venue)
                await settle()
                msgs = c.drain()
                depth = next(m for m in msgs if "@depth" in m["stream"] and m["data"]["b"] and m["data"]["a"])
                bt = next(m for m in msgs if m["stream"].endswith("@bookTicker"))
                rest = await get_json(ep["rest"] + f"{prefix}/depth?symbol=BTCUSDT&limit=5")
                out[venue] = (depth, bt, rest)
            return out

    out = asyncio.run(go())
    for (depth, bt, rest), (rd, rbt, rr) in (
        (out["binance"], (real_spot, real_spot_bt, real_spot_rest)),
        (out["binance-usdm"], (real_fut, real_fut_bt, real_fut_rest)),
    ):
        assert set(depth["data"]) == set(rd["data"])
        assert {k: shape(v) for k, v in depth["data"].items() if k not in "ba"} == {
            k: shape(v) for k, v in rd["data"].items() if k not in "ba"
        }
        level = depth["data"]["b"][0] if depth["data"]["b"] else depth["data"]["a"][0]
        assert shape(level) == ["str"] and len(level) == 2
        assert shape(bt["data"]) == shape(rbt["data"])
        assert set(rest) == set(rr) and shape(rest["bids"]) == shape(rr["bids"])


def test_okx_book_shapes_match_capture() -> None:
    real = first("okx.jsonl", lambda m: isinstance(m, dict) and m.get("action") == "update")

    async def go() -> Any:
        async with Simulator(["okx"], rate=0, depth=20) as sim:
            c = await connect(sim.urls()["okx"][0]["ws"]["public"])
            c.send({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
            await c.recv()
            await c.recv()
            sim.advance(200, "okx")
            await settle()
            return next(m for m in c.drain() if m["data"][0]["asks"] and m["data"][0]["bids"])

    ours = asyncio.run(go())
    assert set(ours) == set(real) and ours["arg"].keys() == real["arg"].keys()
    d, rd = ours["data"][0], real["data"][0]
    assert set(rd) <= set(d)  # the 2022 capture predates seqId/prevSeqId
    assert {k: shape(d[k]) for k in rd} == {k: shape(rd[k]) for k in rd}


def test_okx_reference_checksum_verifies_the_real_capture() -> None:
    books: dict[str, tuple[dict[str, list[str]], dict[str, list[str]]]] = {}
    checked = 0
    for kind, _, m in capture("okx.jsonl"):
        if (
            kind != "recv"
            or not isinstance(m, dict)
            or m.get("arg", {}).get("channel") != "books"
            or "data" not in m
        ):
            continue
        inst = m["arg"]["instId"]
        if m["action"] == "snapshot":
            books[inst] = ({}, {})
        bids, asks = books[inst]
        d = m["data"][0]
        for side, levels in ((bids, d["bids"]), (asks, d["asks"])):
            for lv in levels:
                if lv[1] == "0":
                    side.pop(lv[0], None)
                else:
                    side[lv[0]] = lv
        assert okx_checksum(bids, asks) == d["checksum"]
        checked += 1
    assert checked == 290


def kraken_reference(bids: dict[Decimal, tuple[str, str]], asks: dict[Decimal, tuple[str, str]]) -> int:
    def enc(s: str) -> str:
        return s.replace(".", "").lstrip("0")

    a = [asks[p] for p in sorted(asks)[:10]]
    b = [bids[p] for p in sorted(bids, reverse=True)[:10]]
    return zlib.crc32("".join(enc(p) + enc(q) for p, q in a + b).encode())


def test_kraken_reference_checksum_verifies_the_real_capture() -> None:
    books: dict[str, tuple[dict[Decimal, tuple[str, str]], dict[Decimal, tuple[str, str]]]] = {}
    checked = 0
    for kind, _, m in capture("kraken.jsonl"):
        if kind != "recv" or not isinstance(m, list):
            continue
        pair, depth = m[-1], int(m[-2].split("-")[1])
        if "as" in m[1]:
            books[pair] = ({}, {})
        bids, asks = books[pair]
        cs = None
        for part in m[1:-2]:
            for key, side in (("as", asks), ("bs", bids), ("a", asks), ("b", bids)):
                for lv in part.get(key, []):
                    if len(lv) > 3:  # republish flag "r": same level, same rule
                        lv = lv[:3]
                    p, q = lv[0], lv[1]
                    if Decimal(q) == 0:
                        side.pop(Decimal(p), None)
                    else:
                        side[Decimal(p)] = (p, q)
            cs = part.get("c", cs)
        for side, rev in ((bids, True), (asks, False)):
            for p in sorted(side, reverse=rev)[depth:]:
                del side[p]
        if cs is not None:
            assert kraken_reference(bids, asks) == int(cs)
            checked += 1
    assert checked == 4269


def test_htx_frames_match_capture() -> None:
    real_step = first("htx.jsonl", lambda m: isinstance(m, dict) and ".depth.step0" in m.get("ch", ""))
    real_ping = first("htx.jsonl", lambda m: isinstance(m, dict) and "ping" in m)
    real_ack = first("htx.jsonl", lambda m: isinstance(m, dict) and "subbed" in m)

    async def go() -> list[Any]:
        async with Simulator(
            ["htx"], rate=0, depth=20, timeouts={"depth_step": 0.05, "ping_interval": 0.05}
        ) as sim:
            c = await connect(sim.urls()["htx"][0]["ws"]["ws"])
            c.send({"sub": "market.btcusdt.depth.step0", "id": 1})
            ack = await c.until(lambda m: "subbed" in m)
            step = await c.until(lambda m: "ch" in m)
            ping = await c.until(lambda m: "ping" in m)
            return [ack, step, ping]

    ack, step, ping = asyncio.run(go())
    assert shape(ack) == shape(real_ack)
    assert set(step) == set(real_step) and set(step["tick"]) == set(real_step["tick"])
    assert shape(step["tick"]["bids"]) == shape(real_step["tick"]["bids"])
    assert shape(ping) == shape(real_ping)
