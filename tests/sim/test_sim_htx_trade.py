"""HTX spot orders over signed REST (the test's own Signature V2), checked against the ground-truth
book and the engine's own orders and fills: place/query/cancel, buy-market in quote currency,
limit-maker, balances and insufficient-balance, batch-orders, batchcancel (by client and order ids,
with the failed entries' order-state), getClientOrder, openOrders' ``filled-*`` spelling,
matchresults, ``/v1/common/symbols``, and the ``/ws/v2`` ``orders#<symbol>`` / ``orders#*`` pushes
after auth."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from simclient import connect, http
from test_sim_htx_auth import SECRET, signature, stamp
from tickwire.sim import Simulator

Call = Callable[..., Awaitable[Any]]


def signed_calls(sim: Simulator) -> Call:
    """``call(method, path, body=None, **query)``: a REST request signed for key ak-1 (Signature V2)."""
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

    return call


async def orders_stream(sim: Simulator, topic: str) -> Any:
    """A ``/ws/v2`` socket authenticated with Signature V2.1 and subscribed to ``topic``."""
    ws = sim.urls()["htx"][0]["ws"]["v2"]
    c = await connect(ws)
    signed = {"accessKey": "ak-1", "signatureMethod": "HmacSHA256", "signatureVersion": "2.1"}
    signed["timestamp"] = stamp()
    sig = signature("GET", urlsplit(ws).netloc, "/ws/v2", signed)
    c.send({"action": "req", "ch": "auth", "params": {"authType": "api", **signed, "signature": sig}})
    assert (await c.until(lambda m: m.get("ch") == "auth"))["code"] == 200
    c.send({"action": "sub", "ch": topic})
    assert (await c.until(lambda m: m.get("action") == "sub"))["code"] == 200
    return c


@contextlib.asynccontextmanager
async def htx_account() -> AsyncIterator[tuple[Simulator, Any, Any, str]]:
    """The simulator with key ``ak-1``: its signed REST calls, its ``orders#btcusdt`` stream and its
    spot account id."""
    async with Simulator(["htx"], rate=0, depth=20) as sim:
        sim.venue("htx").add_key("ak-1", SECRET)  # type: ignore[attr-defined]
        call = signed_calls(sim)
        c = await orders_stream(sim, "orders#btcusdt")
        (acct,) = (await call("GET", "/v1/account/accounts"))["data"]
        yield sim, call, c, str(acct["id"])


def test_rest_orders_balances_and_v2_push() -> None:
    async def go() -> None:
        async with htx_account() as (sim, call, c, aid):
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


def test_batch_orders_batchcancel_client_order_queries_match_results_and_symbols() -> None:
    async def go() -> None:
        async with Simulator(["htx"], rate=0, depth=20) as sim:
            sim.venue("htx").add_key("ak-1", SECRET)  # type: ignore[attr-defined]
            sim.fund("htx", "ak-1", {"USDT": "100000", "BTC": "10"})
            call = signed_calls(sim)
            c = await orders_stream(sim, "orders#*")
            engine = sim.venue("htx").engine
            _, _, raw = await http("GET", sim.urls()["htx"][0]["rest"] + "/v1/common/symbols")
            listed = {s["symbol"]: s for s in orjson.loads(raw)["data"]}
            inst = sim.venue("htx").instruments["btcusdt"]
            btc = listed["btcusdt"]
            assert (btc["price-precision"], btc["amount-precision"]) == (2, 6)
            assert (btc["min-order-amt"], btc["max-order-amt"], btc["min-order-value"]) == (0.0001, 1000, 5)
            assert Decimal(str(btc["min-order-amt"])) == inst.min_qty and btc["state"] == "online"

            aid = str((await call("GET", "/v1/account/accounts"))["data"][0]["id"])
            bid, _ = sim.book("htx", "btcusdt", 1).bids[0]
            rest = {"account-id": aid, "symbol": "btcusdt", "type": "buy-limit", "amount": "0.001",
                    "price": str(bid - 5)}  # fmt: skip
            batch = [{**rest, "client-order-id": "b1"}, {**rest, "amount": "500", "client-order-id": "b2"}]
            placed = (await call("POST", "/v1/order/batch-orders", batch))["data"]
            assert placed[0] == {"order-id": engine.by_client[("ak-1", "b1")].id, "client-order-id": "b1"}
            assert placed[1]["client-order-id"] == "b2" and placed[1]["err-code"].endswith(
                "insufficient-error"
            )
            push = await c.until(lambda m: m.get("action") == "push")
            assert push["ch"] == "orders#btcusdt" and push["data"]["clientOrderId"] == "b1"
            got = (await call("GET", "/v1/order/orders/getClientOrder", clientOrderId="b1"))["data"]
            assert (got["id"], got["state"], got["field-amount"]) == (placed[0]["order-id"], "submitted", "0")
            gone = await call("GET", "/v1/order/orders/getClientOrder", clientOrderId="nope")
            assert gone["err-code"] == "base-record-invalid"
            [listed_open] = (await call("GET", "/v1/order/openOrders", **{"account-id": aid}))["data"]
            assert listed_open["filled-amount"] == "0" and "field-amount" not in listed_open

            cancel = {"client-order-ids": ["b1", "nope"]}
            done = (await call("POST", "/v1/order/orders/batchcancel", cancel))["data"]
            assert done["success"] == ["b1"] and not engine.by_client[("ak-1", "b1")].open
            assert [(f["client-order-id"], f["order-state"]) for f in done["failed"]] == [("nope", -1)]
            again = await call(
                "POST", "/v1/order/orders/batchcancel", {"order-ids": [str(placed[0]["order-id"])]}
            )
            assert again["data"]["failed"][0]["err-code"] == "order-orderstate-error"
            assert again["data"]["failed"][0]["order-state"] == 7
            by_cid = {"client-order-id": "b1"}
            assert (await call("POST", "/v1/order/orders/submitCancelClientOrder", by_cid))["data"] == 7

            ask_px = sim.book("htx", "btcusdt", 1).asks[0][0]
            take = {
                **rest,
                "type": "buy-ioc",
                "price": str(ask_px),
                "amount": "0.002",
                "client-order-id": "t1",
            }
            await call("POST", "/v1/order/batch-orders", [take])
            taker = engine.by_client[("ak-1", "t1")]
            rows = (await call("GET", "/v1/order/matchresults", symbol="btcusdt"))["data"]
            assert sorted(r["trade-id"] for r in rows) == sorted(f.trade_id for f in taker.fills)
            assert {(r["order-id"], r["role"], r["type"]) for r in rows} == {(taker.id, "taker", "buy-ioc")}
            later = max(f.time_ms for f in taker.fills) + 1
            assert (
                await call("GET", "/v1/order/matchresults", symbol="btcusdt", **{"start-time": str(later)})
            )["data"] == []

    asyncio.run(go())


def test_a_partly_filled_order_that_ends_unfilled_is_partial_canceled() -> None:
    """HTX spot v1 order ``state``: "submitted, partial-filled, partial-canceled, filled, canceled" —
    an order cancelled (or an IOC expired) after part of it filled is ``partial-canceled`` in the
    order detail and the ``orders#`` push, and ``submitCancelClientOrder`` answers its code 5."""

    async def go() -> None:
        async with htx_account() as (sim, call, c, aid):
            price, size = sim.book("htx", "btcusdt", 1).asks[0]
            ioc = {"account-id": aid, "symbol": "btcusdt", "type": "buy-ioc",
                   "amount": str(size + Decimal("0.0001")), "price": str(price),
                   "client-order-id": "p1"}  # fmt: skip
            oid = (await call("POST", "/v1/order/orders/place", ioc))["data"]
            got = (await call("GET", f"/v1/order/orders/{oid}"))["data"]
            assert Decimal(got["field-amount"]) == size
            assert got["state"] == "partial-canceled"
            last = await c.until(lambda m: m.get("data", {}).get("eventType") == "cancellation")
            assert last["data"]["orderStatus"] == "partial-canceled"
            gone = await call("POST", "/v1/order/orders/submitCancelClientOrder", {"client-order-id": "p1"})
            assert gone["data"] == 5

    asyncio.run(go())
