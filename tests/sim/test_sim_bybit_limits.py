"""Bybit API rate limits as the docs describe them: X-Bapi-Limit* on every answer (WS trade header and
REST response headers), retCode 10006 over the per-UID limit, HTTP 403 over the per-IP limit; and the
engine's refusals as Bybit's codes (110007 insufficient balance, 110072 duplicate orderLinkId)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from simclient import Client, connect, http
from test_sim_bybit_auth import SECRET, header, sig
from tickwire.sim import Simulator


def rest_caller(base: str, key: str = "bk") -> Callable[..., Awaitable[Any]]:
    """``await call(method, path, json_body=None, query="")``: one REST request signed for ``key``
    (X-BAPI-* over the query or the body), its decoded answer."""

    async def call(method: str, path: str, obj: Any = None, q: str = "") -> Any:
        body = orjson.dumps(obj) if obj is not None else b""
        ts = str(int(time.time() * 1000))
        h = {"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000"}
        h["X-BAPI-SIGN"] = sig(ts + key + "5000" + (q if method == "GET" else body.decode()))
        _, _, out = await http(method, base + path + ("?" + q if q else ""), body, h)
        return orjson.loads(out)

    return call


async def authed(url: str) -> Client:
    c = await connect(url)
    expires = int(time.time() * 1000) + 10_000
    c.send({"op": "auth", "args": ["bk", expires, sig(f"GET/realtime{expires}")]})
    assert (await c.recv())["retCode"] == 0
    return c


def test_ws_trade_limit_headers_10006_and_engine_codes() -> None:
    async def go() -> None:
        profile = {"bybit": {"order_rate_limit": 3}}
        timeouts = {"rate_window": 0.3}  # Bybit's one second, shortened
        async with Simulator(["bybit"], rate=0, depth=20, profiles=profile, timeouts=timeouts) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            c = await authed(sim.urls()["bybit"][0]["ws"]["trade"])
            far = str(sim.book("bybit", "ETHUSDT", 1).bids[0][0] - 50)
            order = {"symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.2", "price": far}
            replies: list[Any] = []
            for i, link in enumerate(["D1", "D1", "D2", "D3"]):
                c.send(
                    {
                        "reqId": f"r{i}",
                        "header": header(),
                        "op": "order.create",
                        "args": [{**order, "orderLinkId": link}],
                    }
                )
                replies.append(await c.recv())
            assert [r["retCode"] for r in replies] == [0, 110072, 0, 10006]
            assert [r["header"]["X-Bapi-Limit-Status"] for r in replies] == ["2", "1", "0", "0"]
            assert all(r["header"]["X-Bapi-Limit"] == "3" for r in replies)
            reset = int(replies[-1]["header"]["X-Bapi-Limit-Reset-Timestamp"])
            assert 0 <= reset - int(replies[-1]["header"]["Timenow"]) <= 300
            c.send(
                {
                    "reqId": "c",
                    "header": header(),
                    "op": "order.cancel",
                    "args": [{"symbol": "ETHUSDT", "orderLinkId": "D1"}],
                }
            )
            assert (await c.recv())["retCode"] == 0, "cancel has its own budget"

            # Funded with too little: 110007 (the margin a linear order needs at 10x).
            sim.fund("bybit", "bk", {"USDT": "1"})
            await asyncio.sleep(0.3)  # a new window
            c.send(
                {
                    "reqId": "f",
                    "header": header(),
                    "op": "order.create",
                    "args": [{**order, "orderLinkId": "F1"}],
                }
            )
            assert (await c.recv())["retCode"] == 110007

    asyncio.run(go())


def test_rest_limit_headers_10006_and_ip_403() -> None:
    async def go() -> None:
        profile = {"bybit": {"rest_rate_limit": 2, "ip_rate_limit": 4}}
        async with Simulator(["bybit"], rate=0, depth=5, profiles=profile) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            sim.fund("bybit", "bk", {"USDT": "12.5"})
            base = sim.urls()["bybit"][0]["rest"]
            q = "accountType=UNIFIED"
            got = []
            for _ in range(3):
                ts = str(int(time.time() * 1000))
                h = {"X-BAPI-API-KEY": "bk", "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000"}
                h["X-BAPI-SIGN"] = sig(ts + "bk" + "5000" + q)
                got.append(await http("GET", f"{base}/v5/account/wallet-balance?{q}", headers=h))
            bodies = [orjson.loads(b) for _, _, b in got]
            assert [b["retCode"] for b in bodies] == [0, 0, 10006]
            assert [h["x-bapi-limit-status"] for _, h, _ in got] == ["1", "0", "0"]
            coin = bodies[0]["result"]["list"][0]["coin"]
            assert coin == [{"coin": "USDT", "walletBalance": "12.5", "locked": "0", "equity": "12.5"}]
            s, _, body = await http("GET", f"{base}/v5/market/time")
            assert s == 200
            s, _, body = await http("GET", f"{base}/v5/market/time")
            assert (s, body) == (403, b"access too frequent")

    asyncio.run(go())


def test_rest_order_entry_shares_the_ws_budget() -> None:
    async def go() -> None:
        profile = {"bybit": {"order_rate_limit": 2}}
        async with Simulator(["bybit"], rate=0, depth=20, profiles=profile) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            call = rest_caller(sim.urls()["bybit"][0]["rest"])

            bid = sim.book("bybit", "ETHUSDT", 1).bids[0][0]
            order = {"category": "linear", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit",
                     "qty": "0.2", "price": str(bid - 50), "orderLinkId": "R1"}  # fmt: skip
            made = await call("POST", "/v5/order/create", order)
            assert made["retCode"] == 0 and made["result"]["orderLinkId"] == "R1"
            amended = await call(
                "POST", "/v5/order/amend", {"symbol": "ETHUSDT", "orderLinkId": "R1", "qty": "0.3"}
            )
            assert amended["retCode"] == 0
            got = await call("GET", "/v5/order/realtime", q="category=linear&symbol=ETHUSDT&orderLinkId=R1")
            (row,) = got["result"]["list"]
            assert row["qty"] == "0.30000" and row["orderStatus"] == "New"
            # The WS trade connection spends the same budget: a second create is the last allowed.
            c = await authed(sim.urls()["bybit"][0]["ws"]["trade"])
            c.send(
                {
                    "reqId": "w",
                    "header": header(),
                    "op": "order.create",
                    "args": [{**order, "orderLinkId": "W1"}],
                }
            )
            assert (await c.recv())["retCode"] == 0
            assert (await call("POST", "/v5/order/create", {**order, "orderLinkId": "R2"}))[
                "retCode"
            ] == 10006
            done = await call("POST", "/v5/order/cancel-all", {"category": "linear", "symbol": "ETHUSDT"})
            assert sorted(x["orderLinkId"] for x in done["result"]["list"]) == ["R1", "W1"]
            assert (await call("GET", "/v5/order/realtime", q="category=linear"))["result"]["list"] == []

    asyncio.run(go())
