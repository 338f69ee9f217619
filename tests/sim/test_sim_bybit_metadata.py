"""Bybit's instrument metadata and trade history as order entry reads them, checked against the
simulator's own instruments and the engine's fill records: ``GET /v5/market/instruments-info``
(values the engine enforces), ``GET /v5/execution/list`` (each fill once, under its public trade id),
spot ``orderId`` as digits and ``realtime`` of an unknown order as an empty list."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import orjson
from simclient import http
from test_sim_bybit_auth import SECRET
from test_sim_bybit_limits import rest_caller
from tickwire.sim import Simulator


def test_instruments_info_lists_the_engines_instruments() -> None:
    async def go() -> None:
        async with Simulator(["bybit"], rate=0, depth=5) as sim:
            base = sim.urls()["bybit"][0]["rest"]
            s, _, body = await http("GET", f"{base}/v5/market/instruments-info?category=spot&symbol=BTCUSDT")
            msg = orjson.loads(body)
            assert s == 200 and msg["retCode"] == 0 and msg["result"]["category"] == "spot"
            [row] = msg["result"]["list"]
            inst = sim.venue("bybit").instruments["BTCUSDT"]
            assert (row["symbol"], row["baseCoin"], row["quoteCoin"], row["status"]) == (
                "BTCUSDT", "BTC", "USDT", "Trading",
            )  # fmt: skip
            assert Decimal(row["priceFilter"]["tickSize"]) == inst.tick
            lots = row["lotSizeFilter"]
            assert Decimal(lots["basePrecision"]) == inst.lot
            # minOrderQty listed as Bybit lists it, no longer checked: the engine's minimum is a lot
            assert inst.min_lots == 1 and Decimal(lots["minOrderQty"]) > inst.lot
            assert Decimal(lots["maxOrderQty"]) == inst.max_qty
            assert Decimal(lots["maxLimitOrderQty"]) == Decimal(lots["maxMarketOrderQty"]) == inst.max_qty
            assert Decimal(lots["postOnlyMaxLimitOrderSize"]) == 5 * inst.max_qty  # as the docs say
            assert Decimal(lots["minOrderAmt"]) == inst.min_notional
            s, _, body = await http("GET", f"{base}/v5/market/instruments-info?category=spot")
            listed = {r["symbol"] for r in orjson.loads(body)["result"]["list"]}
            assert listed == set(sim.venue("bybit").instruments)
            s, _, body = await http("GET", f"{base}/v5/market/instruments-info?category=linear")
            assert orjson.loads(body)["result"]["list"] == []
            s, _, body = await http("GET", f"{base}/v5/market/instruments-info?category=nope")
            assert orjson.loads(body)["retCode"] == 10001

    asyncio.run(go())


def test_execution_list_is_the_engines_fills_and_spot_order_ids_are_digits() -> None:
    async def go() -> None:
        async with Simulator(["bybit"], rate=0, depth=20) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            sim.fund("bybit", "bk", {"USDT": "1000000", "BTC": "10"})
            base = sim.urls()["bybit"][0]["rest"]

            call = rest_caller(base)

            started = int(time.time() * 1000) - 1000
            ask = sim.book("bybit", "BTCUSDT").asks[0][0]
            order = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                     "qty": "0.5", "price": str(ask), "timeInForce": "IOC", "orderLinkId": "X1"}  # fmt: skip
            made = await call("POST", "/v5/order/create", order)
            assert made["retCode"] == 0
            engine = sim.venue("bybit").engine
            [theirs] = [o for o in engine.orders.values() if o.client_id == "X1"]
            assert made["result"]["orderId"] == str(theirs.id) and theirs.fills
            inst = sim.venue("bybit").instruments["BTCUSDT"]
            got = await call(
                "GET", "/v5/execution/list", q=f"category=spot&symbol=BTCUSDT&startTime={started}"
            )
            assert got["retCode"] == 0
            rows = got["result"]["list"]
            assert sorted(r["execId"] for r in rows) == sorted(str(f.trade_id) for f in theirs.fills)
            assert all(r["orderId"] == str(theirs.id) and r["orderLinkId"] == "X1" for r in rows)
            assert all(
                r["side"] == "Buy" and r["feeCurrency"] == "BTC" and r["isMaker"] is False for r in rows
            )
            assert sum(Decimal(r["execQty"]) for r in rows) == inst.qty(theirs.filled) > 0
            assert [int(r["execTime"]) for r in rows] == sorted(
                (f.time_ms for f in theirs.fills), reverse=True
            )
            later = await call(
                "GET", "/v5/execution/list", q="category=spot&symbol=BTCUSDT&startTime=9" + "9" * 13
            )
            assert later["result"]["list"] == []
            q = "category=spot&symbol=BTCUSDT&orderLinkId=X1"
            [row] = (await call("GET", "/v5/order/realtime", q=q))["result"]["list"]
            assert (
                Decimal(row["cumExecQty"]) == inst.qty(theirs.filled)
                and row["category"] == "spot"
                and row["orderId"] == str(theirs.id)
            )
            unknown = await call(
                "GET", "/v5/order/realtime", q="category=spot&symbol=BTCUSDT&orderLinkId=nope"
            )
            assert unknown["retCode"] == 0 and unknown["result"]["list"] == []
            cancel = await call(
                "POST",
                "/v5/order/cancel",
                {"category": "spot", "symbol": "BTCUSDT", "orderId": row["orderId"]},
            )
            assert cancel["retCode"] == 110001

    asyncio.run(go())


def test_execution_list_answers_seven_days_at_most() -> None:
    """docs/v5/order/execution.mdx, ``startTime``: "startTime and endTime are not passed, return 7
    days by default; Only startTime is passed, return range between startTime and startTime+7 days;
    Only endTime is passed, return range between endTime-7 days and endTime; If both are passed, the
    rule is endTime - startTime <= 7 days". And "orderId and orderLinkId have a higher priority and as
    long as these two parameters are in the input parameters, other input parameters will be
    ignored"."""

    async def go() -> None:
        async with Simulator(["bybit"], rate=0, depth=20) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            sim.fund("bybit", "bk", {"USDT": "1000000", "BTC": "10"})
            call = rest_caller(sim.urls()["bybit"][0]["rest"])
            engine = sim.venue("bybit").engine
            for link in ("OLD", "NEW"):
                ask = sim.book("bybit", "BTCUSDT").asks[0][0]
                order = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
                         "qty": "0.01", "price": str(ask), "timeInForce": "IOC",
                         "orderLinkId": link}  # fmt: skip
                assert (await call("POST", "/v5/order/create", order))["retCode"] == 0
            [old] = [o for o in engine.orders.values() if o.client_id == "OLD"]
            [new] = [o for o in engine.orders.values() if o.client_id == "NEW"]
            day = 86_400_000
            for f in old.fills:
                f.time_ms -= 8 * day  # filled eight days ago
            old_t = old.fills[0].time_ms

            async def links(q: str) -> set[str]:
                got = await call("GET", "/v5/execution/list", q=f"category=spot&symbol=BTCUSDT{q}")
                assert got["retCode"] == 0, got
                return {r["orderLinkId"] for r in got["result"]["list"]}

            assert await links("") == {"NEW"}  # the last 7 days
            assert await links(f"&startTime={old_t - 1000}") == {"OLD"}  # startTime to startTime+7 days
            assert await links(f"&endTime={old_t + 1000}") == {"OLD"}
            assert await links(f"&orderId={old.id}") == {"OLD"}  # the time rules are not the order's
            assert await links(f"&orderId={new.id}&startTime={old_t - 1000}") == {"NEW"}
            assert await links("&orderLinkId=OLD") == {"OLD"}
            too_long = f"&startTime={old_t - 1000}&endTime={old_t + 7 * day}"
            got = await call("GET", "/v5/execution/list", q=f"category=spot&symbol=BTCUSDT{too_long}")
            assert got["retCode"] == 10001

    asyncio.run(go())
