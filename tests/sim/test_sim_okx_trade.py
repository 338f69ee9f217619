"""OKX WS amend-order, post_only, insufficient balance (51008) and the order rate limit (50011), and
the public REST limit (HTTP 429, 50011)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson
from simclient import Client, connect, http
from test_sim_okx_auth import SECRET, iso_now, sign
from tickwire.sim import Simulator

Call = Callable[..., Awaitable[Any]]


def rest_client(base: str) -> Call:
    """``call(method, path, body=None)``: a signed OKX REST request (key ``ok-key``), its JSON answer."""

    async def call(method: str, path: str, obj: Any = None) -> Any:
        body = orjson.dumps(obj) if obj is not None else b""
        ts = iso_now()
        h = {"OK-ACCESS-KEY": "ok-key", "OK-ACCESS-PASSPHRASE": "pp", "OK-ACCESS-TIMESTAMP": ts}
        h["OK-ACCESS-SIGN"] = sign(ts + method + path + body.decode())
        _, _, out = await http(method, base + path, body, h)
        return orjson.loads(out)

    return call


async def login(url: str) -> Client:
    c = await connect(url)
    ts = str(int(time.time()))
    args = {
        "apiKey": "ok-key",
        "passphrase": "pp",
        "timestamp": ts,
        "sign": sign(ts + "GET/users/self/verify"),
    }
    c.send({"op": "login", "args": [args]})
    assert (await c.recv())["event"] == "login"
    return c


def test_amend_post_only_funds_and_rate_limit() -> None:
    async def go() -> None:
        profile = {"okx": {"order_rate_limit": 3}}
        async with Simulator(["okx"], rate=0, depth=20, profiles=profile) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", SECRET, "pp")
            c = await login(sim.urls()["okx"][0]["ws"]["private"])
            bid = sim.book("okx", "BTC-USDT", 1).bids[0][0]
            far = str(bid - 100)
            code = {s: c for c, s in v.trade.codes.items()}  # what the order socket names them by
            base = {"instIdCode": code["BTC-USDT"], "side": "buy", "tdMode": "cash", "sz": "0.001"}
            c.send(
                {"id": "1", "op": "order", "args": [{**base, "ordType": "limit", "px": far, "clOrdId": "a1"}]}
            )
            placed = await c.recv()
            oid = placed["data"][0]["ordId"]
            amend = {"instIdCode": code["BTC-USDT"], "ordId": oid, "newSz": "0.002", "newPx": str(bid - 50)}
            c.send({"id": "2", "op": "amend-order", "args": [amend]})
            amended = await c.recv()
            assert amended["code"] == "0" and amended["data"][0]["ordId"] == oid
            order = v.engine.orders[int(oid)]
            assert (
                order.qty * Decimal("0.00000001") == Decimal("0.002")
                and order.price * Decimal("0.1") == bid - 50
            )
            level = dict(sim.book("okx", "BTC-USDT").bids)[bid - 50]
            assert level >= Decimal("0.002")  # the amended size rests in the public book

            # post_only crossing the book is cancelled, never takes.
            ask = sim.book("okx", "BTC-USDT", 1).asks[0]
            c.send({"id": "3", "op": "order", "args": [{**base, "ordType": "post_only", "px": str(ask[0])}]})
            r = await c.recv()
            assert v.engine.orders[int(r["data"][0]["ordId"])].status == "CANCELED"
            assert sim.book("okx", "BTC-USDT", 1).asks[0] == ask

            # A third and a fourth "order" within 2 s: the fourth is rate limited (per key, instrument, op).
            c.send({"id": "4", "op": "order", "args": [{**base, "ordType": "limit", "px": far}]})
            assert (await c.recv())["code"] == "0"
            c.send({"id": "5", "op": "order", "args": [{**base, "ordType": "limit", "px": far}]})
            assert (await c.recv())["code"] == "50011"
            c.send(
                {"id": "6", "op": "cancel-order", "args": [{"instIdCode": code["BTC-USDT"], "ordId": oid}]}
            )
            assert (await c.recv())["code"] == "0", "cancel has its own budget"

            # A funded account without the quote asset: 51008.
            sim.fund("okx", "ok-key", {"USDT": "1"})
            eth = {**base, "instIdCode": code["ETH-USDT"], "ordType": "limit", "px": "100.00", "sz": "1"}
            c.send({"id": "7", "op": "order", "args": [eth]})
            r = await c.recv()
            assert r["code"] == "1" and r["data"][0]["sCode"] == "51008"

    asyncio.run(go())


def test_public_rest_limit() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=5, profiles={"okx": {"rest_rate_limit": 2}}) as sim:
            url = sim.urls()["okx"][0]["rest"] + "/api/v5/market/books?instId=BTC-USDT"
            got = [await http("GET", url) for _ in range(3)]
            assert [g[0] for g in got] == [200, 200, 429]
            assert orjson.loads(got[2][2])["code"] == "50011"

    asyncio.run(go())


def test_rest_order_amend_query_cancel() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=20) as sim:
            sim.venue("okx").add_key("ok-key", SECRET, "pp")  # type: ignore[attr-defined]
            call = rest_client(sim.urls()["okx"][0]["rest"])

            bid = sim.book("okx", "BTC-USDT", 1).bids[0][0]
            order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit",
                     "sz": "0.001", "px": str(bid - 10), "clOrdId": "rest1"}  # fmt: skip
            made = await call("POST", "/api/v5/trade/order", order)
            assert made["code"] == "0" and made["data"][0]["sCode"] == "0"
            oid = made["data"][0]["ordId"]
            amend = {"instId": "BTC-USDT", "clOrdId": "rest1", "newSz": "0.003"}
            assert (await call("POST", "/api/v5/trade/amend-order", amend))["code"] == "0"
            got = await call("GET", f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}")
            assert got["data"][0]["sz"] == "0.003" and got["data"][0]["state"] == "live"
            pending = await call("GET", "/api/v5/trade/orders-pending?instId=BTC-USDT")
            assert [o["clOrdId"] for o in pending["data"]] == ["rest1"]
            dup = await call("POST", "/api/v5/trade/order", order)
            assert dup["code"] == "1" and dup["data"][0]["sCode"] == "51016"
            gone = await call("POST", "/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": oid})
            assert gone["code"] == "0"
            again = await call("POST", "/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": oid})
            assert again["data"][0]["sCode"] == "51400"
            assert (await call("GET", "/api/v5/trade/order?instId=BTC-USDT&ordId=1"))["code"] == "51603"

    asyncio.run(go())


def test_the_order_socket_takes_the_instrument_by_the_code_the_instruments_list_only() -> None:
    """OKX's WebSocket order ops take ``instIdCode`` (listed by ``GET /api/v5/public/instruments``)
    since it delisted ``instId`` from them in 2026 ("any instId value provided will be ignored"): an
    op naming ``instId`` alone is refused (50014) and places nothing; REST still takes ``instId``."""

    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=20) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", SECRET, "pp")
            base_url = sim.urls()["okx"][0]["rest"]
            _, _, raw = await http("GET", base_url + "/api/v5/public/instruments?instType=SPOT")
            listed = {d["instId"]: d["instIdCode"] for d in orjson.loads(raw)["data"]}
            assert sorted(listed) == sorted(v.instruments) and all(type(c) is int for c in listed.values())
            c = await login(sim.urls()["okx"][0]["ws"]["private"])
            far = str(sim.book("okx", "BTC-USDT", 1).bids[0][0] - 100)
            order = {"side": "buy", "tdMode": "cash", "sz": "0.001", "ordType": "limit", "px": far}
            c.send({"id": "1", "op": "order", "args": [{**order, "instId": "BTC-USDT", "clOrdId": "byid"}]})
            r = await c.recv()
            assert (r["code"], r["msg"]) == ("50014", "Parameter instIdCode can not be empty.")
            assert v.engine.orders == {}
            c.send(
                {
                    "id": "2",
                    "op": "order",
                    "args": [{**order, "instIdCode": listed["BTC-USDT"], "clOrdId": "bycode"}],
                }
            )
            r = await c.recv()
            assert r["code"] == "0"
            [placed] = v.engine.orders.values()
            assert (placed.symbol, placed.client_id) == ("BTC-USDT", "bycode")

    asyncio.run(go())
