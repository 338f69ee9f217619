"""The simulated Kraken against venues.md §4.2: a client that applies updates and truncates to its
depth (as the docs require) keeps the top-10 CRC32 equal to the venue's, recomputed independently."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import zlib
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
from simclient import connect, get_json, http, settle
from tickwire.sim import Simulator


def reference_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    def enc(s: str) -> str:
        return s.replace(".", "").lstrip("0")

    text = "".join(enc(p) + enc(q) for p, q in asks[:10]) + "".join(enc(p) + enc(q) for p, q in bids[:10])
    return zlib.crc32(text.encode())


def test_reference_checksum_on_the_docs_formatting_example() -> None:
    # §4.2 step 1: "45285.2" and "0.00100000" give "452852" and "100000".
    assert reference_checksum([], [("45285.2", "0.00100000")]) == zlib.crc32(b"452852100000")


class Local:
    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.bids: dict[Decimal, str] = {}
        self.asks: dict[Decimal, str] = {}
        self.text: dict[Decimal, str] = {}

    def apply(self, side: dict[Decimal, str], price: str, qty: str) -> None:
        p = Decimal(price)
        if Decimal(qty) == 0:
            side.pop(p, None)
        else:
            side[p] = qty
            self.text[p] = price

    def truncate(self) -> None:
        for side, rev in ((self.bids, True), (self.asks, False)):
            for p in sorted(side, reverse=rev)[self.depth :]:
                del side[p]

    def top(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return (
            [(self.text[p], self.bids[p]) for p in sorted(self.bids, reverse=True)],
            [(self.text[p], self.asks[p]) for p in sorted(self.asks)],
        )


def _raw_numbers(frame: bytes) -> Any:
    # v2 sends numbers; parse them exactly (the docs: parse_float=Decimal).
    return json.loads(frame, parse_float=Decimal, parse_int=Decimal)


# Instrument precision (venues.md §4.2: "BTC/USD price 1, qty 8"); the checksum is computed from the
# values formatted with it, as the official sample client does, not from the number text.
PRECISION = {"BTC/USD": (1, 8), "ETH/USD": (2, 8)}


def fmt(symbol: str, price: Decimal, qty: Decimal) -> tuple[str, str]:
    pp, qp = PRECISION[symbol]
    return f"{price:.{pp}f}", f"{qty:.{qp}f}"


def test_v2_book_truncation_checksum_and_ground_truth() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], seed=8, rate=0, depth=40) as sim:
            c = await connect(sim.urls()["kraken"][0]["ws"]["v2"])
            status = await c.recv()
            assert status["channel"] == "status"
            c.send(
                {
                    "method": "subscribe",
                    "params": {"channel": "book", "symbol": ["BTC/USD"], "depth": 10},
                    "req_id": 9,
                }
            )
            ack = await c.recv()
            assert ack["success"] is True and ack["req_id"] == 9 and ack["result"]["depth"] == 10
            local = Local(10)
            sim.advance(500, "kraken", "BTC/USD")
            await settle()
            n = 0
            while not c.q.empty():
                _, frame = c.q.get_nowait()
                m = _raw_numbers(frame)
                d = m["data"][0]
                for lv in d["bids"]:
                    local.apply(local.bids, *fmt("BTC/USD", lv["price"], lv["qty"]))
                for lv in d["asks"]:
                    local.apply(local.asks, *fmt("BTC/USD", lv["price"], lv["qty"]))
                local.truncate()
                bids, asks = local.top()
                assert reference_checksum(bids, asks) == int(d["checksum"]), m["type"]
                # Shortest number text on the wire: no trailing zeros a client could lean on.
                numbers = re.findall(rb'"(?:price|qty)":([0-9.]+)', frame)
                assert numbers and not any(b"." in x and x.endswith(b"0") for x in numbers)
                n += 1
                n += 1
            assert n > 50
            truth = sim.book("kraken", "BTC/USD", 10)
            bids, asks = local.top()
            assert [(Decimal(p), Decimal(q)) for p, q in bids] == truth.bids
            assert [(Decimal(p), Decimal(q)) for p, q in asks] == truth.asks

    asyncio.run(go())


def test_v2_heartbeat_and_ping() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], rate=0, timeouts={"heartbeat": 0.05}) as sim:
            c = await connect(sim.urls()["kraken"][0]["ws"]["v2"])
            await c.recv()
            c.send({"method": "ping", "req_id": 101})
            pong = await c.recv()
            assert pong["method"] == "pong" and pong["req_id"] == 101 and pong["time_in"].endswith("Z")
            await asyncio.sleep(0.2)
            assert c.drain() == [], "no heartbeat before any subscription"
            c.send({"method": "subscribe", "params": {"channel": "book", "symbol": ["ETH/USD"]}})
            await c.recv()
            assert (await c.recv())["type"] == "snapshot"
            assert await c.recv(1.0) == {"channel": "heartbeat"}

    asyncio.run(go())


def test_v1_book_checksum() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], seed=9, rate=0, depth=30) as sim:
            c = await connect(sim.urls()["kraken"][0]["ws"]["v1"])
            assert (await c.recv())["event"] == "systemStatus"
            c.send({"event": "subscribe", "pair": ["ETH/USD"], "subscription": {"name": "book", "depth": 25}})
            st = await c.recv()
            assert st["status"] == "subscribed" and st["channelName"] == "book-25"
            snap = await c.recv()
            local = Local(25)
            for p, q, _ in snap[1]["as"]:
                local.apply(local.asks, p, q)
            for p, q, _ in snap[1]["bs"]:
                local.apply(local.bids, p, q)
            sim.advance(300, "kraken", "ETH/USD")
            await settle()
            checked = 0
            for m in c.drain():
                assert m[0] == st["channelID"] and m[-2] == "book-25" and m[-1] == "ETH/USD"
                cs = None
                for part in m[1:-2]:
                    for p, q, _ in part.get("a", []):
                        local.apply(local.asks, p, q)
                    for p, q, _ in part.get("b", []):
                        local.apply(local.bids, p, q)
                    cs = part.get("c", cs)
                local.truncate()
                bids, asks = local.top()
                assert cs is not None and reference_checksum(bids, asks) == int(cs)
                checked += 1
            assert checked > 50

    asyncio.run(go())


# venues.md §8: Kraken's published REST signing example.
K_SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="


_last_nonce = 0


async def private(base: str, method: str, form: dict[str, str] | None = None, key: str = "kkey") -> Any:
    """A private REST call signed here with Kraken's documented API-Sign (nonces always increase)."""
    global _last_nonce
    _last_nonce = max(_last_nonce + 1, int(time.time() * 1000))
    nonce = str(_last_nonce)
    body = urlencode({"nonce": nonce, **(form or {})})
    path = f"/0/private/{method}"
    digest = hashlib.sha256((nonce + body).encode()).digest()
    mac = hmac.new(base64.b64decode(K_SECRET), path.encode() + digest, hashlib.sha512).digest()
    hdrs = {"API-Key": key, "API-Sign": base64.b64encode(mac).decode()}
    _, _, data = await http("POST", base + path, body.encode(), hdrs)
    return orjson.loads(data)


async def ws_token(base: str) -> str:
    """A WebSocket token from REST ``GetWebSocketsToken``."""
    return str((await private(base, "GetWebSocketsToken"))["result"]["token"])


K_NONCE = "1616492376594"
K_BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
K_SIGN = "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="


def test_rest_api_sign_vector_and_mutations() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], rate=0) as sim:
            sim.venue("kraken").add_key("kkey", K_SECRET)  # type: ignore[attr-defined]
            base = sim.urls()["kraken"][0]["rest"]

            async def post(path: str, body: str, sign: str = K_SIGN, key: str = "kkey") -> list[str]:
                hdrs = {"API-Key": key, "API-Sign": sign, "Content-Type": "application/x-www-form-urlencoded"}
                _, _, data = await http("POST", base + path, body.encode(), hdrs)
                return list(orjson.loads(data)["error"])

            # Mutations first: a rejected request must not consume the nonce.
            for i, part in enumerate(K_BODY.split("&")):
                parts = K_BODY.split("&")
                parts[i] = part + "0"
                assert await post("/0/private/AddOrder", "&".join(parts)) in (
                    ["EAPI:Invalid signature"],
                    ["EAPI:Invalid nonce"],
                )
            assert await post("/0/private/AddOrderX", K_BODY) == ["EAPI:Invalid signature"]
            assert await post("/0/private/AddOrder", K_BODY, sign=K_SIGN.replace("4/", "5/")) == [
                "EAPI:Invalid signature"
            ]
            assert await post("/0/private/AddOrder", K_BODY, key="other") == ["EAPI:Invalid key"]
            # The published request authenticates and places its order (buy 1.25 XBTUSD @ 37500).
            assert await post("/0/private/AddOrder", K_BODY) == []
            (order,) = sim.venue("kraken").engine.open_orders("kkey", None)
            assert (order.symbol, order.qty, order.price) == ("BTC/USD", 125_000_000, 375_000)
            assert await post("/0/private/AddOrder", K_BODY) == ["EAPI:Invalid nonce"], "replay"
            depth = await get_json(base + "/0/public/Depth?pair=BTC/USD&count=3")
            assert len(depth["result"]["BTC/USD"]["bids"]) == 3

    asyncio.run(go())


def test_ws_add_order_and_cancel_with_a_rest_token() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], rate=0, depth=20) as sim:
            sim.venue("kraken").add_key("kkey", K_SECRET)  # type: ignore[attr-defined]
            token = await ws_token(sim.urls()["kraken"][0]["rest"])
            c = await connect(sim.urls()["kraken"][0]["ws"]["v2_auth"])
            await c.recv()  # status
            truth = sim.book("kraken", "BTC/USD", 1)
            params = {
                "order_type": "limit",
                "side": "sell",
                "order_qty": str(truth.bids[0][1]),
                "symbol": "BTC/USD",
            }
            params.update(limit_price=str(truth.bids[0][0]), token="wrong", cl_ord_id="k1")
            c.send({"method": "add_order", "params": params, "req_id": 1})
            assert (await c.recv())["error"] == "EAPI:Invalid key"
            c.send({"method": "add_order", "params": dict(params, token=token), "req_id": 2})
            ok = await c.recv()
            assert ok["success"] is True and ok["result"]["cl_ord_id"] == "k1" and ok["req_id"] == 2
            assert sim.book("kraken", "BTC/USD", 1).bids[0] != truth.bids[0]  # our sell took the best bid
            far = dict(params, token=token, limit_price="99999.9", order_qty="0.5", cl_ord_id="k2")
            c.send({"method": "add_order", "params": far, "req_id": 3})
            rest = await c.recv()
            c.send(
                {
                    "method": "cancel_order",
                    "params": {"order_id": [rest["result"]["order_id"]], "token": token},
                }
            )
            assert (await c.recv())["success"] is True
            c.send({"method": "cancel_order", "params": {"cl_ord_id": ["k2"], "token": token}})
            assert (await c.recv())["success"] is False

    asyncio.run(go())


def test_executions_channel() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], rate=0, depth=20) as sim:
            sim.venue("kraken").add_key("kkey", K_SECRET)  # type: ignore[attr-defined]
            token = await ws_token(sim.urls()["kraken"][0]["rest"])
            c = await connect(sim.urls()["kraken"][0]["ws"]["v2_auth"])
            await c.recv()
            c.send({"method": "subscribe", "params": {"channel": "executions", "token": token}})
            assert (await c.recv())["success"] is True
            snapshot = await c.recv()  # snap_orders defaults to true: the open orders, none yet
            assert (snapshot["channel"], snapshot["type"], snapshot["data"]) == ("executions", "snapshot", [])
            best = sim.book("kraken", "ETH/USD", 1).asks[0]
            order = {"order_type": "limit", "side": "buy", "order_qty": str(best[1]), "symbol": "ETH/USD"}
            order.update(limit_price=str(best[0]), token=token, cl_ord_id="x1")
            c.send({"method": "add_order", "params": order, "req_id": 5})
            frames = [(await c.raw())[1] for _ in range(3)]
            parsed = [json.loads(f, parse_float=Decimal) for f in frames]
            execs = [m["data"][0] for m in parsed if m.get("channel") == "executions"]
            assert [(e["exec_type"], e["order_status"]) for e in execs] == [
                ("new", "new"),
                ("trade", "filled"),
            ]
            assert execs[1]["last_price"] == best[0] and execs[1]["cum_qty"] == best[1]
            assert execs[1]["cl_ord_id"] == "x1" and execs[1]["liquidity_ind"] == "t"

    asyncio.run(go())
