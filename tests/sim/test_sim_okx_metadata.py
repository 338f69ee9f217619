"""OKX ``GET /api/v5/public/instruments`` from the simulator's instruments, the engine refusing what
they forbid (51000 off the tick, 51121 off the lot, 51020 below ``minSz``), ``batch-orders`` /
``amend-batch-orders`` / ``cancel-batch-orders``, and a third-party client (ccxt, when installed)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from simclient import get_json
from test_sim_okx_auth import SECRET
from test_sim_okx_trade import rest_client
from tickwire.sim import Simulator


def test_instruments_from_the_simulator() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=10) as sim:
            base = sim.urls()["okx"][0]["rest"]
            got = await get_json(base + "/api/v5/public/instruments?instType=SPOT")
            assert got["code"] == "0"
            insts = sim.venue("okx").instruments
            assert [d["instId"] for d in got["data"]] == list(insts)
            btc = got["data"][0]
            inst = insts["BTC-USDT"]
            assert (btc["instType"], btc["baseCcy"], btc["quoteCcy"], btc["state"]) == (
                "SPOT",
                "BTC",
                "USDT",
                "live",
            )
            assert Decimal(btc["tickSz"]) == inst.tick and Decimal(btc["lotSz"]) == inst.lot
            assert Decimal(btc["minSz"]) == inst.min_qty and btc["maxLmtSz"] and btc["maxMktSz"]
            one = await get_json(base + "/api/v5/public/instruments?instType=SPOT&instId=ETH-USDT")
            assert [d["instId"] for d in one["data"]] == ["ETH-USDT"]
            assert (await get_json(base + "/api/v5/public/instruments?instType=SWAP"))["data"] == []
            assert (await get_json(base + "/api/v5/public/instruments"))["code"] == "50014"
            bad = await get_json(base + "/api/v5/public/instruments?instType=SPOT&instId=X-Y")
            assert bad["code"] == "51001"

    asyncio.run(go())


def test_limits_enforced_and_batch_orders() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=10) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", SECRET, "pp")
            call = rest_client(sim.urls()["okx"][0]["rest"])
            bid = sim.book("okx", "BTC-USDT", 1).bids[0][0]
            o = {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "px": str(bid - 10),
            }
            for over, code in (
                ({"px": str(bid - 10) + "5", "sz": "0.001"}, "51000"),
                ({"sz": "0.000000001"}, "51121"),
                ({"sz": "0.000001"}, "51020"),
            ):
                got = await call("POST", "/api/v5/trade/order", {**o, **over})
                assert got["code"] == "1" and got["data"][0]["sCode"] == code, got
            assert v.engine.orders == {}

            batch = [{**o, "sz": "0.001", "clOrdId": "b1"}, {**o, "sz": "0.000001", "clOrdId": "b2"}]
            got = await call("POST", "/api/v5/trade/batch-orders", batch)
            assert got["code"] == "2" and [d["sCode"] for d in got["data"]] == ["0", "51020"]
            assert [x.client_id for x in v.engine.orders.values()] == ["b1"]
            got = await call("POST", "/api/v5/trade/batch-orders", [{**o, "sz": "0.002", "clOrdId": "b3"}])
            assert got["code"] == "0" and got["data"][0]["clOrdId"] == "b3"
            amend = [{"instId": "BTC-USDT", "clOrdId": "b3", "newSz": "0.001"}]
            assert (await call("POST", "/api/v5/trade/amend-batch-orders", amend))["code"] == "0"
            cancels = [{"instId": "BTC-USDT", "clOrdId": c} for c in ("b1", "b3", "b2")]
            got = await call("POST", "/api/v5/trade/cancel-batch-orders", cancels)
            assert got["code"] == "2" and [d["sCode"] for d in got["data"]] == ["0", "0", "51400"]
            assert [x.status for x in v.engine.orders.values()] == ["CANCELED", "CANCELED"]
            assert (await call("POST", "/api/v5/trade/batch-orders", []))["code"] == "50014"

    asyncio.run(go())


def test_ccxt_loads_markets_places_and_cancels() -> None:
    ccxt = pytest.importorskip("ccxt.async_support")

    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=10) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", SECRET, "pp")
            ex = ccxt.okx({"apiKey": "ok-key", "secret": SECRET, "password": "pp", "enableRateLimit": False})
            ex.options["fetchMarkets"] = {"types": ["spot"]}
            ex.urls["api"]["rest"] = sim.urls()["okx"][0]["rest"]
            try:
                markets = await ex.load_markets()
                m = markets["BTC/USDT"]
                inst = v.instruments["BTC-USDT"]
                assert Decimal(str(m["precision"]["price"])) == inst.tick
                assert Decimal(str(m["limits"]["amount"]["min"])) == inst.min_qty
                bid = sim.book("okx", "BTC-USDT", 1).bids[0][0]
                order = await ex.create_order("BTC/USDT", "limit", "buy", 0.001, float(bid - 10))
                placed = v.engine.orders[int(order["id"])]
                assert placed.open
                await ex.cancel_order(order["id"], "BTC/USDT")
                assert placed.status == "CANCELED"
            finally:
                await ex.close()

    asyncio.run(go())


def test_fills_and_order_by_client_id_from_the_engine() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=10) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", SECRET, "pp")
            call = rest_client(sim.urls()["okx"][0]["rest"])
            asks = sim.book("okx", "BTC-USDT", 2).asks
            sz = asks[0][1] + Decimal("0.00001")  # the best level and a little of the next
            o = {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "ioc",
                "px": str(asks[1][0]),
            }
            made = await call("POST", "/api/v5/trade/order", {**o, "sz": str(sz), "clOrdId": "f1"})
            assert made["code"] == "0"
            (order,) = v.engine.orders.values()
            got = await call("GET", "/api/v5/trade/fills?instType=SPOT&instId=BTC-USDT")
            assert got["code"] == "0"
            assert [d["tradeId"] for d in got["data"]] == [str(f.trade_id) for f in reversed(order.fills)]
            assert {(d["clOrdId"], d["execType"], d["side"]) for d in got["data"]} == {("f1", "T", "buy")}
            assert sum(Decimal(d["fillSz"]) for d in got["data"]) == sz
            newest = got["data"][0]["billId"]
            older = await call("GET", f"/api/v5/trade/fills-history?instType=SPOT&after={newest}")
            assert older["data"] == got["data"][1:]
            by_cl = await call("GET", "/api/v5/trade/order?instId=BTC-USDT&clOrdId=f1")
            assert by_cl["data"][0]["ordId"] == str(order.id) and by_cl["data"][0]["state"] == "filled"

    asyncio.run(go())


def test_fills_reach_back_three_days_and_fills_history_three_months() -> None:
    """OKX "Get transaction details (last 3 days)": ``GET /api/v5/trade/fills`` "Retrieve
    recently-filled transaction details in the last 3 days"; older ones are ``fills-history``'s
    ("last 3 months")."""

    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=10) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", SECRET, "pp")
            call = rest_client(sim.urls()["okx"][0]["rest"])
            for cl in ("old", "new"):
                ask = sim.book("okx", "BTC-USDT", 1).asks[0][0]
                o = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "ioc",
                     "px": str(ask), "sz": "0.001", "clOrdId": cl}  # fmt: skip
                assert (await call("POST", "/api/v5/trade/order", o))["code"] == "0"
            [old] = [o for o in v.engine.orders.values() if o.client_id == "old"]
            day = 86_400_000
            for f in old.fills:
                f.time_ms -= 4 * day  # filled four days ago
            begin = old.fills[0].time_ms - 1000
            q = "instType=SPOT&instId=BTC-USDT"
            for path, seen in (("fills", {"new"}), ("fills-history", {"old", "new"})):
                got = await call("GET", f"/api/v5/trade/{path}?{q}")
                assert {d["clOrdId"] for d in got["data"]} == seen, path
                got = await call("GET", f"/api/v5/trade/{path}?{q}&begin={begin}")
                assert {d["clOrdId"] for d in got["data"]} == seen, path
                got = await call("GET", f"/api/v5/trade/{path}?{q}&ordId={old.id}")
                assert {d["clOrdId"] for d in got["data"]} == seen - {"new"}, path
            for f in old.fills:
                f.time_ms -= 90 * day  # beyond the three months too
            got = await call("GET", f"/api/v5/trade/fills-history?{q}")
            assert {d["clOrdId"] for d in got["data"]} == {"new"}

    asyncio.run(go())
