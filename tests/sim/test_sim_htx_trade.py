"""HTX spot orders over signed REST (the test's own Signature V2), checked against the ground-truth
book: place/query/cancel, buy-market in quote currency, limit-maker, balances and
insufficient-balance, and the ``/ws/v2`` ``orders#<symbol>`` push after auth."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from simclient import connect, http
from test_sim_htx_auth import SECRET, signature, stamp
from tickwire.sim import Simulator


def test_rest_orders_balances_and_v2_push() -> None:
    async def go() -> None:
        async with Simulator(["htx"], rate=0, depth=20) as sim:
            sim.venue("htx").add_key("ak-1", SECRET)  # type: ignore[attr-defined]
            base = sim.urls()["htx"][0]["rest"]
            host = urlsplit(base).netloc

            async def call(method: str, path: str, body: Any = None, **extra: str) -> Any:
                p = {"AccessKeyId": "ak-1", "SignatureMethod": "HmacSHA256", "SignatureVersion": "2"}
                p.update(Timestamp=stamp(), **extra)
                q = "&".join(f"{k}={quote(v, safe='')}" for k, v in p.items())
                q += "&Signature=" + quote(signature(method, host, path, p), safe="")
                raw = orjson.dumps(body) if body is not None else b""
                _, _, out = await http(method, f"{base}{path}?{q}", raw, {"Content-Type": "application/json"})
                return orjson.loads(out)

            # The order stream, authenticated with Signature V2.1.
            ws = sim.urls()["htx"][0]["ws"]["v2"]
            c = await connect(ws)
            signed = {"accessKey": "ak-1", "signatureMethod": "HmacSHA256", "signatureVersion": "2.1"}
            signed["timestamp"] = stamp()
            sig = signature("GET", urlsplit(ws).netloc, "/ws/v2", signed)
            c.send({"action": "req", "ch": "auth", "params": {"authType": "api", **signed, "signature": sig}})
            assert (await c.until(lambda m: m.get("ch") == "auth"))["code"] == 200
            c.send({"action": "sub", "ch": "orders#btcusdt"})
            assert (await c.until(lambda m: m.get("action") == "sub"))["code"] == 200

            (acct,) = (await call("GET", "/v1/account/accounts"))["data"]
            aid = str(acct["id"])
            bid = sim.book("htx", "btcusdt", 1).bids[0][0]
            limit = {"account-id": aid, "symbol": "btcusdt", "type": "buy-limit", "amount": "0.001",
                     "price": str(bid - 5), "client-order-id": "h1"}  # fmt: skip
            placed = await call("POST", "/v1/order/orders/place", limit)
            assert placed["status"] == "ok"
            oid = placed["data"]
            push = await c.until(lambda m: m.get("action") == "push")
            assert push["data"]["eventType"] == "creation" and push["data"]["clientOrderId"] == "h1"
            got = (await call("GET", f"/v1/order/orders/{oid}"))["data"]
            assert (got["state"], got["type"], got["amount"]) == ("submitted", "buy-limit", "0.001")
            assert dict(sim.book("htx", "btcusdt").bids)[bid - 5] >= Decimal("0.001")
            assert [
                o["id"] for o in (await call("GET", "/v1/order/openOrders", symbol="btcusdt"))["data"]
            ] == [int(oid)]
            assert (await call("POST", f"/v1/order/orders/{oid}/submitcancel"))["data"] == oid
            assert (await call("POST", f"/v1/order/orders/{oid}/submitcancel"))[
                "err-code"
            ] == "order-orderstate-error"

            # buy-market spends quote currency: the minimum amount (0.0001) at the best ask.
            ask = sim.book("htx", "btcusdt", 1).asks[0]
            cash = str(ask[0] * Decimal("0.0001"))
            market = {**limit, "type": "buy-market", "amount": cash, "client-order-id": "h2"}
            m = await call("POST", "/v1/order/orders/place", market)
            filled = (await call("GET", f"/v1/order/orders/{m['data']}"))["data"]
            assert filled["state"] == "filled" and filled["field-amount"] == "0.0001"
            # limit-maker crossing the book is cancelled instead of taking.
            ask = sim.book("htx", "btcusdt", 1).asks[0]
            maker = {**limit, "type": "buy-limit-maker", "price": str(ask[0]), "client-order-id": "h3"}
            mk = await call("POST", "/v1/order/orders/place", maker)
            assert (await call("GET", f"/v1/order/orders/{mk['data']}"))["data"]["state"] == "canceled"
            assert sim.book("htx", "btcusdt", 1).asks[0] == ask

            sim.fund("htx", "ak-1", {"USDT": "5"})
            poor = await call("POST", "/v1/order/orders/place", {**limit, "client-order-id": "h4"})
            assert poor["err-code"] == "account-frozen-balance-insufficient-error"
            bal = (await call("GET", f"/v1/account/accounts/{aid}/balance"))["data"]["list"]
            assert {"currency": "usdt", "type": "trade", "balance": "5"} in bal

    asyncio.run(go())
