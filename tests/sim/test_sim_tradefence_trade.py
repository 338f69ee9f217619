"""Tradefence's simulated order entry, raw: the ``strategy`` tag kept and echoed, ``time_in_force``,
the order listing and its filters, executions, public instrument metadata — each checked against the
matching engine's own orders (sim/venues/tradefence/trade.py defaults)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import orjson
from simclient import http
from test_sim_tradefence_auth import REDIRECT, _token
from tickwire.sim import Simulator


def test_orders_listing_fills_and_instruments() -> None:
    async def go() -> None:
        async with Simulator(["tradefence"], rate=0, depth=20) as sim:
            v: Any = sim.venue("tradefence")
            v.add_client("cid", "csecret", REDIRECT)
            base = sim.urls()["tradefence"][0]["rest"]
            auth = {"Authorization": f"Bearer {await _token(base)}"}

            async def call(method: str, path: str, obj: Any = None, headers: Any = auth) -> tuple[int, Any]:
                status, _, data = await http(method, base + path, orjson.dumps(obj) if obj else b"", headers)
                return status, orjson.loads(data)

            s, meta = await call("GET", "/v1/instruments", headers={})  # public
            aapl = next(i for i in meta["instruments"] if i["symbol"] == "AAPL")
            inst = v.instruments["AAPL"]
            assert s == 200 and (Decimal(aapl["tick_size"]), Decimal(aapl["lot_size"])) == (
                inst.tick,
                inst.lot,
            )

            book = sim.book("tradefence", "AAPL", 1)
            bid, ask = book.bids[0][0], book.asks[0][0]
            rest = {"symbol": "AAPL", "type": "LIMIT", "side": "BUY", "quantity": 2, "price": float(bid - 1),
                    "strategy": "alpha-1"}  # fmt: skip
            s, o = await call("POST", "/v1/orders", rest)
            assert s == 201 and o["strategy"] == "alpha-1" and o["status"] == "NEW" and o["fills"] == []
            assert v.engine.orders[int(o["id"])].client_id == "alpha-1"
            assert (await call("POST", "/v1/orders", rest))[0] == 400, "a tag is unique among open orders"
            ioc = rest | {"price": str(ask), "quantity": "1", "strategy": "alpha-2", "time_in_force": "IOC"}
            s, hit = await call("POST", "/v1/orders", ioc)
            theirs = v.engine.orders[int(hit["id"])]
            assert hit["status"] == "FILLED" and theirs.tif == "IOC"
            assert [f["id"] for f in hit["fills"]] == [str(f.trade_id) for f in theirs.fills]
            assert Decimal(hit["average_price"]) == ask
            s, bare = await call("POST", "/v1/orders", {"symbol": "AAPL", "type": "MARKET", "side": "SELL",
                                                        "quantity": "1"})  # fmt: skip
            assert s == 201 and bare["strategy"] is None
            assert (await call("POST", "/v1/orders", ioc | {"time_in_force": "DAY"}))[0] == 400

            _, open_ = await call("GET", "/v1/orders")
            assert [x["id"] for x in open_["orders"]] == [o["id"]]
            _, tagged = await call("GET", "/v1/orders?status=ALL&strategy=alpha-2")
            assert [x["id"] for x in tagged["orders"]] == [hit["id"]]
            _, every = await call("GET", "/v1/orders?status=ALL&symbol=AAPL")
            assert len(every["orders"]) == 3
            _, fills = await call("GET", "/v1/fills?symbol=AAPL")
            mine = [f for x in v.engine.orders.values() for f in x.fills]
            assert sorted(f["id"] for f in fills["fills"]) == sorted(str(f.trade_id) for f in mine)
            assert {f["strategy"] for f in fills["fills"]} == {"alpha-2", None}

    asyncio.run(go())
