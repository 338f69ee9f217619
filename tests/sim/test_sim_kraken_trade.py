"""Kraken WS v2 amend_order, cancel_all, post_only and insufficient funds, checked against the
ground-truth book and the engine's own orders."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from simclient import connect, get_json
from test_sim_kraken import K_SECRET, private, ws_token
from tickwire.sim import Simulator


def test_amend_cancel_all_post_only_and_funds() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], rate=0, depth=20) as sim:
            v: Any = sim.venue("kraken")
            v.add_key("kkey", K_SECRET)
            token = await ws_token(sim.urls()["kraken"][0]["rest"])
            c = await connect(sim.urls()["kraken"][0]["ws"]["v2_auth"])
            await c.recv()  # status

            async def call(method: str, **params: Any) -> Any:
                c.send({"method": method, "params": {**params, "token": token}})
                return await c.recv()

            bid = sim.book("kraken", "BTC/USD", 1).bids[0][0]
            order = {"order_type": "limit", "side": "buy", "symbol": "BTC/USD", "order_qty": "0.5"}
            a = await call("add_order", **order, limit_price=str(bid - 10), cl_ord_id="a")
            b = await call("add_order", **order, limit_price=str(bid - 20), cl_ord_id="b")
            assert a["success"] and b["success"]
            amended = await call("amend_order", cl_ord_id="a", order_qty="0.25", limit_price=str(bid - 5))
            assert amended["success"] and amended["result"]["order_id"] == a["result"]["order_id"]
            o = v.engine.orders[int(a["result"]["order_id"])]
            assert (o.qty, o.price) == (25_000_000, int((bid - 5) / Decimal("0.1")))
            assert dict(sim.book("kraken", "BTC/USD").bids)[bid - 5] >= Decimal("0.25")
            assert not (await call("amend_order", order_id="1", order_qty="1"))["success"]

            ask = sim.book("kraken", "BTC/USD", 1).asks[0]
            po = await call("add_order", **order, limit_price=str(ask[0]), post_only=True)
            assert v.engine.orders[int(po["result"]["order_id"])].status == "CANCELED"
            assert sim.book("kraken", "BTC/USD", 1).asks[0] == ask, "post_only never takes"

            done = await call("cancel_all")
            assert done["success"] and done["result"]["count"] == 2
            assert v.engine.open_orders("kkey", None) == []

            sim.fund("kraken", "kkey", {"USD": "10"})
            poor = await call("add_order", **order, limit_price=str(bid - 10))
            assert (poor["error"], poor["method"], poor["success"]) == (
                "EOrder:Insufficient funds",
                "add_order",
                False,
            )

    asyncio.run(go())


def test_rest_add_query_cancel_balance() -> None:
    async def go() -> None:
        async with Simulator(["kraken"], rate=0, depth=20) as sim:
            v: Any = sim.venue("kraken")
            v.add_key("kkey", K_SECRET)
            base = sim.urls()["kraken"][0]["rest"]
            bid = sim.book("kraken", "BTC/USD", 1).bids[0][0]
            order = {
                "pair": "XBTUSD",
                "type": "buy",
                "ordertype": "limit",
                "volume": "0.25",
                "price": str(bid - 10),
            }
            added = await private(base, "AddOrder", {**order, "cl_ord_id": "r1"})
            (txid,) = added["result"]["txid"]
            assert added["error"] == [] and added["result"]["descr"]["order"].startswith(
                "buy 0.25000000 XBTUSD @ limit"
            )
            assert dict(sim.book("kraken", "BTC/USD").bids)[bid - 10] >= Decimal("0.25")
            info = (await private(base, "QueryOrders", {"txid": txid}))["result"][txid]
            assert (info["status"], info["vol"], info["cl_ord_id"]) == ("open", "0.25000000", "r1")
            assert list((await private(base, "OpenOrders"))["result"]["open"]) == [txid]
            assert (await private(base, "CancelOrder", {"cl_ord_id": "r1"}))["result"]["count"] == 1
            assert (await private(base, "CancelOrder", {"txid": txid}))["error"] == ["EOrder:Unknown order"]
            assert (await private(base, "QueryOrders", {"txid": txid}))["result"][txid][
                "status"
            ] == "canceled"

            ask = sim.book("kraken", "BTC/USD", 1).asks[0]
            market = {"pair": "BTC/USD", "type": "buy", "ordertype": "market", "volume": str(ask[1])}
            (mid,) = (await private(base, "AddOrder", market))["result"]["txid"]
            done = (await private(base, "QueryOrders", {"txid": mid}))["result"][mid]
            assert done["status"] == "closed" and Decimal(done["price"]) == ask[0]

            sim.fund("kraken", "kkey", {"USD": "100", "BTC": "0.5"})
            assert (await private(base, "Balance"))["result"] == {"XXBT": "0.5", "ZUSD": "100"}
            poor = await private(base, "AddOrder", {**order, "volume": "1"})
            assert poor["error"] == ["EOrder:Insufficient funds"]
            assert (await private(base, "AddOrder", {**order, "pair": "NOPE"}))["error"] == [
                "EQuery:Unknown asset pair"
            ]

    asyncio.run(go())


def test_rest_rules_history_amend_and_balances_as_documented() -> None:
    """AssetPairs' rules fields, AmendOrder, OpenOrders/ClosedOrders filters, TradesHistory and
    BalanceEx, each checked against the engine's own orders, fills and ledger."""

    async def go() -> None:
        async with Simulator(["kraken"], rate=0, depth=20) as sim:
            v: Any = sim.venue("kraken")
            v.add_key("kkey", K_SECRET)
            base = sim.urls()["kraken"][0]["rest"]
            pairs = (await get_json(base + "/0/public/AssetPairs?pair=XBTUSD"))["result"]
            assert list(pairs) == ["XXBTZUSD"]
            p = pairs["XXBTZUSD"]
            assert (p["altname"], p["wsname"], p["tick_size"], p["ordermin"], p["costmin"]) == (
                "XBTUSD", "XBT/USD", "0.1", "0.00005", "0.5",
            )  # fmt: skip
            assert (p["pair_decimals"], p["lot_decimals"]) == (1, 8)

            sim.fund("kraken", "kkey", {"USD": "100000", "BTC": "1"})
            bid = sim.book("kraken", "BTC/USD", 1).bids[0][0]
            order = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.5"}
            (txid,) = (await private(base, "AddOrder", {**order, "price": str(bid - 10), "userref": "7"}))[
                "result"
            ]["txid"]
            await private(base, "AddOrder", {**order, "price": str(bid - 20), "cl_ord_id": "other"})
            assert list((await private(base, "OpenOrders", {"userref": "7"}))["result"]["open"]) == [txid]
            ex = (await private(base, "BalanceEx"))["result"]
            locked = v.engine.ledger.locked["kkey"]["USD"]
            assert (
                Decimal(ex["ZUSD"]["hold_trade"]) == locked > 0 and Decimal(ex["ZUSD"]["balance"]) == 100000
            )

            amended = await private(base, "AmendOrder", {"txid": txid, "order_qty": "0.25"})
            assert amended["error"] == [] and set(amended["result"]) == {"amend_id"}
            assert v.engine.orders[int(txid)].qty == 25_000_000
            assert (await private(base, "AmendOrder", {"cl_ord_id": "nope", "order_qty": "1"}))["error"] == [
                "EOrder:Unknown order"
            ]
            await private(base, "CancelOrder", {"cl_ord_id": "other"})
            closed = (await private(base, "ClosedOrders", {"cl_ord_id": "other"}))["result"]
            assert closed["count"] == 1 and [o["status"] for o in closed["closed"].values()] == ["canceled"]
            assert (await private(base, "ClosedOrders", {"cl_ord_id": "never"}))["result"]["closed"] == {}

            ask = sim.book("kraken", "BTC/USD", 1).asks[0]
            market = {"pair": "XXBTZUSD", "type": "buy", "ordertype": "market", "volume": str(ask[1])}
            (mid,) = (await private(base, "AddOrder", market))["result"]["txid"]
            trades = (await private(base, "TradesHistory"))["result"]["trades"]
            [fill] = v.engine.orders[int(mid)].fills
            [t] = [t for t in trades.values() if t["ordertxid"] == mid]
            assert (t["trade_id"], t["pair"], Decimal(t["vol"]), t["maker"]) == (
                fill.trade_id, "XXBTZUSD", ask[1], False,
            )  # fmt: skip
            later = await private(base, "TradesHistory", {"start": str(fill.time_ms // 1000 + 1)})
            assert later["result"]["trades"] == {}

    asyncio.run(go())
