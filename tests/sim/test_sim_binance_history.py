"""Binance spot trade history for reconciliation: ``myTrades`` and ``allOrders`` answer from the
engine's own fill records (each fill once, its public trade id), and ``GET /api/v3/order`` finds an
order by ``origClientOrderId``."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import orjson
from simclient import http
from test_sim_binance_userdata import SECRET, sign
from tickwire.sim import ApiKey, Simulator


def test_my_trades_and_all_orders_from_the_engine() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            v: Any = sim.venue("binance")
            v.add_key(ApiKey("ak", secret=SECRET.encode()))
            rest, key = sim.urls()["binance"][0]["rest"], {"X-MBX-APIKEY": "ak"}

            async def call(method: str, path: str, **p: str) -> Any:
                s, _, body = await http(method, f"{rest}{path}?{sign(p)}", headers=key)
                return s, orjson.loads(body)

            asks = sim.book("binance", "BTCUSDT", 2).asks
            qty = asks[0][1] + Decimal("0.00001")  # takes the best level and one lot of the next
            s, taken = await call("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                  timeInForce="IOC", quantity=str(qty), price=str(asks[1][0]),
                                  newClientOrderId="take-1")  # fmt: skip
            assert s == 200 and taken["status"] == "FILLED"
            s, rest_order = await call("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                       timeInForce="GTC", quantity="0.001", price="50000.00",
                                       newClientOrderId="rest-1")  # fmt: skip
            assert s == 200
            (order,) = [o for o in v.engine.orders.values() if o.client_id == "take-1"]
            s, trades = await call("GET", "/api/v3/myTrades", symbol="BTCUSDT")
            assert s == 200 and [t["id"] for t in trades] == [f.trade_id for f in order.fills]
            assert [t["id"] for t in trades] == [f["tradeId"] for f in taken["fills"]]
            assert all(t["orderId"] == order.id and t["isBuyer"] and not t["isMaker"] for t in trades)
            assert sum(Decimal(t["qty"]) for t in trades) == qty
            assert trades[0]["price"] == taken["fills"][0]["price"] and trades[0]["commissionAsset"] == "USDT"
            # fromId and orderId narrow it; each fill appears once.
            s, later = await call("GET", "/api/v3/myTrades", symbol="BTCUSDT", fromId=str(trades[1]["id"]))
            assert later == trades[1:]
            s, none = await call(
                "GET", "/api/v3/myTrades", symbol="BTCUSDT", orderId=str(rest_order["orderId"])
            )
            assert none == []
            # "If fromId is set, it will get id >= that fromId. Otherwise most recent trades are
            # returned": a page without fromId is the newest, with it the first from that id.
            s, limited = await call("GET", "/api/v3/myTrades", symbol="BTCUSDT", limit="1")
            assert limited == trades[-1:]
            s, first = await call("GET", "/api/v3/myTrades", symbol="BTCUSDT", fromId="0", limit="1")
            assert first == trades[:1]
            assert (await call("GET", "/api/v3/myTrades"))[1]["code"] == -1102

            s, orders = await call("GET", "/api/v3/allOrders", symbol="BTCUSDT")
            assert [(o["clientOrderId"], o["status"]) for o in orders] == [
                ("take-1", "FILLED"),
                ("rest-1", "NEW"),
            ]
            s, since = await call(
                "GET", "/api/v3/allOrders", symbol="BTCUSDT", orderId=str(rest_order["orderId"])
            )
            assert [o["clientOrderId"] for o in since] == ["rest-1"]
            # allOrders: "If orderId is set, it will get orders >= that orderId. Otherwise most recent
            # orders are returned."
            s, latest = await call("GET", "/api/v3/allOrders", symbol="BTCUSDT", limit="1")
            assert [o["clientOrderId"] for o in latest] == ["rest-1"]
            s, first = await call("GET", "/api/v3/allOrders", symbol="BTCUSDT", orderId="0", limit="1")
            assert [o["clientOrderId"] for o in first] == ["take-1"]
            s, by_cid = await call("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="take-1")
            assert by_cid["orderId"] == order.id and by_cid["executedQty"] == taken["executedQty"]

    asyncio.run(go())
