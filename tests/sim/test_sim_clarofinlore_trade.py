"""Simulated Clarofinlore order routes (seed-venues.md; the defaults are the simulator's), driven by the
test's own signing client: the documented idempotent ``client_order_id``, status by venue id and by
client id, the open-order list, cancel, cancel-all of one symbol, ``time_in_force``, the fills list
(each engine fill once, as on the public trades channel), instrument rules and account balances —
each against the matching engine's own records."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from claro import Claro
from tickwire.sim import Simulator

SECRET = "trade-secret"


def test_order_routes_against_the_engine() -> None:
    async def go() -> None:
        async with Simulator(["clarofinlore"], rate=0, depth=10) as sim:
            claro = await Claro.funded(sim, SECRET, "100000")
            engine = sim.venue("clarofinlore").engine
            bid = sim.book("clarofinlore", "btc-usdt", 1).bids[0][0]
            ask = sim.book("clarofinlore", "btc-usdt", 1).asks[0][0]
            rest = {"symbol": "btc-usdt", "side": "buy", "type": "limit", "quantity": "0.001"}
            rest["price"] = str(bid - 1)
            s, a = await claro.call("POST", "/v1/orders", {**rest, "client_order_id": "a"})
            assert s == 200 and a["status"] == "new" and a["time_in_force"] == "gtc" and a["fills"] == []
            _, again = await claro.call(
                "POST", "/v1/orders", {**rest, "price": str(bid - 2), "client_order_id": "a"}
            )
            assert again == a and len(engine.orders) == 1, (
                "a retried client order id: that order, nothing new"
            )
            eth = {**rest, "symbol": "eth-usdt", "price": "2000.00", "quantity": "0.01"}
            await claro.call("POST", "/v1/orders", {**eth, "client_order_id": "e"})
            assert (await claro.call("GET", "/v1/orders/client/a"))[1] == a
            assert (await claro.call("GET", f"/v1/orders/{a['order_id']}"))[1] == a
            _, listed = await claro.call("GET", "/v1/orders", query="symbol=btc-usdt")
            assert [o["client_order_id"] for o in listed["orders"]] == ["a"]
            s, gone = await claro.call("DELETE", "/v1/orders/client/a")
            assert s == 200 and gone["status"] == "canceled" and not engine.by_client[("ck", "a")].open
            s, err = await claro.call("DELETE", f"/v1/orders/{a['order_id']}")
            assert (s, err["code"]) == (404, 404)
            assert (await claro.call("GET", "/v1/orders/client/never"))[0] == 404

            # An IOC limit at the ask: fills, the rest expires; its fills are the engine's, once.
            ioc = {**rest, "price": str(ask), "quantity": "0.0005", "time_in_force": "ioc"}
            _, t = await claro.call("POST", "/v1/orders", {**ioc, "client_order_id": "t"})
            theirs = engine.by_client[("ck", "t")]
            assert t["status"] in ("filled", "expired") and t["time_in_force"] == "ioc" and not theirs.open
            assert [f["trade_id"] for f in t["fills"]] == [str(f.trade_id) for f in theirs.fills]
            _, fills = await claro.call("GET", "/v1/fills", query="symbol=btc-usdt")
            assert [f["trade_id"] for f in fills["fills"]] == [str(f.trade_id) for f in theirs.fills]
            assert sum(D(f["quantity"]) for f in fills["fills"]) == D(t["filled"]) > 0

            # cancel-all of one symbol leaves the other's orders.
            await claro.call("POST", "/v1/orders", {**rest, "client_order_id": "b"})
            _, done = await claro.call("POST", "/v1/orders/cancel-all", {"symbol": "btc-usdt"})
            assert [o["client_order_id"] for o in done["cancelled"]] == ["b"]
            assert [o.client_id for o in engine.open_orders("ck", None)] == ["e"]

            _, insts = await claro.call("GET", "/v1/instruments")
            btc = next(i for i in insts["instruments"] if i["symbol"] == "btc-usdt")
            assert (btc["tick_size"], btc["lot_size"]) == ("0.01", "0.00001")
            _, acct = await claro.call("GET", "/v1/account")
            led = engine.ledger
            assert acct["balances"] == [
                {
                    "asset": "USDT",
                    "free": str(led.free("ck", "USDT")),
                    "locked": str(led.locked["ck"]["USDT"]),
                }
            ]
            assert not sim.errors

    asyncio.run(go())
