"""Binance USDⓈ-M futures order entry: orders on the engine, positions with entry price, margin at
20x (-2019 beyond it), reduceOnly (-2022), duplicate client ids (-4116), GTX post-only, cancel-all,
ORDER_TRADE_UPDATE and ACCOUNT_UPDATE on the listenKey stream (also on the routed /private path), modify
(PUT), batch cancel, userTrades, the WS API's order methods, and a listenKey expired on demand."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
from simclient import connect, http
from tickwire.sim import ApiKey, Simulator

SECRET = "fut-secret"


def test_futures_orders_positions_margin_and_stream() -> None:
    async def go() -> None:
        async with Simulator(["binance-usdm"], rate=0, depth=20) as sim:
            sim.venue("binance-usdm").add_key(ApiKey("fk", secret=SECRET.encode()))  # type: ignore[attr-defined]
            ep = sim.urls()["binance-usdm"][0]
            key = {"X-MBX-APIKEY": "fk"}

            async def call(method: str, path: str, **params: Any) -> tuple[int, Any]:
                q = urlencode({**params, "timestamp": int(time.time() * 1000)})
                sig = hmac.new(SECRET.encode(), q.encode(), hashlib.sha256).hexdigest()
                s, _, body = await http(method, f"{ep['rest']}{path}?{q}&signature={sig}", headers=key)
                return s, orjson.loads(body)

            _, _, body = await http("POST", ep["rest"] + "/fapi/v1/listenKey", headers=key)
            stream = await connect(f"{ep['ws']['ws']}/{orjson.loads(body)['listenKey']}")

            ask = sim.book("binance-usdm", "ETHUSDT", 1).asks[0]
            qty = min(ask[1], Decimal("0.05"))
            s, o = await call("POST", "/fapi/v1/order", symbol="ETHUSDT", side="BUY", type="MARKET",
                              quantity=str(qty), newClientOrderId="f1")  # fmt: skip
            assert s == 200 and o["status"] == "FILLED" and o["positionSide"] == "BOTH"
            assert Decimal(o["avgPrice"]) == ask[0]
            ev = await stream.recv()
            assert ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["c"] == "f1" and ev["o"]["x"] == "NEW"
            _, risk = await call("GET", "/fapi/v2/positionRisk", symbol="ETHUSDT")
            assert Decimal(risk[0]["positionAmt"]) == qty and Decimal(risk[0]["entryPrice"]) == ask[0]
            assert risk[0]["leverage"] == "20"

            # reduceOnly: a buy cannot reduce a long; a sell larger than it cannot either.
            s, r = await call("POST", "/fapi/v1/order", symbol="ETHUSDT", side="BUY", type="MARKET",
                              quantity=str(qty), reduceOnly="true")  # fmt: skip
            assert r["code"] == -2022
            bid = sim.book("binance-usdm", "ETHUSDT", 1).bids[0][0]
            rest = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01",
                    "price": str(bid - 5), "timeInForce": "GTC", "newClientOrderId": "f2"}  # fmt: skip
            assert (await call("POST", "/fapi/v1/order", **rest))[1]["status"] == "NEW"
            assert (await call("POST", "/fapi/v1/order", **rest))[1]["code"] == -4116
            gtx = {**rest, "price": str(ask[0] + 1), "timeInForce": "GTX", "newClientOrderId": "f3"}
            # A post-only order that would take is refused, not recorded (-5022; NautilusTrader's
            # BINANCE_GTX_ORDER_REJECT_CODE); one that rests says GTX.
            s, po = await call("POST", "/fapi/v1/order", **gtx)
            assert s == 400 and po["code"] == -5022
            gtx = {**gtx, "price": str(bid - 6), "newClientOrderId": "f4"}
            assert (await call("POST", "/fapi/v1/order", **gtx))[1]["timeInForce"] == "GTX"
            s, done = await call("DELETE", "/fapi/v1/allOpenOrders", symbol="ETHUSDT")
            assert done["code"] == 200 and (await call("GET", "/fapi/v1/openOrders"))[1] == []

            # Funded with 10 USDT at 20x: 200 USDT of notional, less what the open long already holds
            # (qty x entry / 20); 0.1 ETH at ~3000 is too much.
            sim.fund("binance-usdm", "fk", {"USDT": "10"})
            s, r = await call("POST", "/fapi/v1/order", symbol="ETHUSDT", side="BUY", type="LIMIT",
                              quantity="0.1", price=str(bid - 5), timeInForce="GTC")  # fmt: skip
            assert r["code"] == -2019
            s, r = await call("POST", "/fapi/v1/order", symbol="ETHUSDT", side="BUY", type="LIMIT",
                              quantity="0.01", price=str(bid - 5), timeInForce="GTC")  # fmt: skip
            assert r["status"] == "NEW"
            _, bal = await call("GET", "/fapi/v2/balance")
            margin = Decimal("0.01") * (bid - 5) / 20 + qty * ask[0] / 20
            assert [(b["asset"], Decimal(b["balance"]), Decimal(b["availableBalance"])) for b in bal] == [
                ("USDT", 10, 10 - margin)
            ]

    asyncio.run(go())


def _ws_signed(params: dict[str, Any]) -> dict[str, Any]:
    """WS API params signed the documented way: sorted, unencoded, apiKey included."""
    p = {**params, "apiKey": "fk", "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{k}={v}" for k, v in sorted(p.items()))
    return {**p, "signature": hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()}


def test_futures_modify_batch_cancel_user_trades_ws_api_and_private_stream() -> None:
    async def go() -> None:
        async with Simulator(["binance-usdm"], rate=0, depth=20) as sim:
            venue: Any = sim.venue("binance-usdm")
            venue.add_key(ApiKey("fk", secret=SECRET.encode()))
            ep = sim.urls()["binance-usdm"][0]
            key = {"X-MBX-APIKEY": "fk"}

            async def call(method: str, path: str, **params: Any) -> tuple[int, Any]:
                q = urlencode({**params, "timestamp": int(time.time() * 1000)})
                sig = hmac.new(SECRET.encode(), q.encode(), hashlib.sha256).hexdigest()
                s, _, body = await http(method, f"{ep['rest']}{path}?{q}&signature={sig}", headers=key)
                return s, orjson.loads(body)

            _, _, body = await http("POST", ep["rest"] + "/fapi/v1/listenKey", headers=key)
            lk = orjson.loads(body)["listenKey"]
            # The routed /private path: the key and the events by query (the key's expiry among them).
            events = "ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired"
            stream = await connect(f"{ep['ws']['private']}?listenKey={lk}&events={events}")
            bid = sim.book("binance-usdm", "BTCUSDT", 1).bids[0][0]
            rest = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                    "quantity": "0.010", "price": str(bid - 10)}  # fmt: skip
            ids = [(await call("POST", "/fapi/v1/order", **rest, newClientOrderId=f"b{i}"))[1]["orderId"]
                   for i in range(3)]  # fmt: skip
            assert (await stream.recv())["o"]["c"] == "b0"

            # PUT: side, quantity and price all mandatory; the order keeps its ids.
            s, r = await call("PUT", "/fapi/v1/order", symbol="BTCUSDT", orderId=ids[0], side="BUY",
                              quantity="0.020")  # fmt: skip
            assert (s, r["code"]) == (400, -1102)
            s, m = await call("PUT", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="b0",
                              side="BUY", quantity="0.020", price=str(bid - 20))  # fmt: skip
            assert s == 200 and m["orderId"] == ids[0] and m["clientOrderId"] == "b0"
            assert (Decimal(m["origQty"]), Decimal(m["price"])) == (Decimal("0.02"), bid - 20)

            # batchOrders: one entry per id, the error of one that is not open in its place.
            s, r = await call("DELETE", "/fapi/v1/batchOrders", symbol="BTCUSDT",
                              orderIdList=f"[{ids[0]},{ids[1]},999999]")  # fmt: skip
            assert s == 200 and [e.get("status") for e in r[:2]] == ["CANCELED"] * 2
            assert r[2] == {"code": -2011, "msg": "Unknown order sent."}
            eleven = orjson.dumps([f"x{i}" for i in range(11)]).decode()
            s, r = await call(
                "DELETE", "/fapi/v1/batchOrders", symbol="BTCUSDT", origClientOrderIdList=eleven
            )
            assert s == 400  # more than 10
            s, r = await call("DELETE", "/fapi/v1/batchOrders", symbol="BTCUSDT",
                              origClientOrderIdList='["b2"]')  # fmt: skip
            assert r[0]["clientOrderId"] == "b2" and r[0]["status"] == "CANCELED"

            # The WS API on /ws-fapi/v1: order.place, order.modify, order.status, order.cancel.
            ws = await connect(ep["ws"]["ws_api"])
            ask = sim.book("binance-usdm", "BTCUSDT", 1).asks[0][0]
            take = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "IOC",
                    "quantity": "0.010", "price": str(ask), "newClientOrderId": "w1"}  # fmt: skip
            ws.send({"id": "p", "method": "order.place", "params": _ws_signed(take)})
            placed = await ws.recv()
            assert placed["id"] == "p" and placed["status"] == 200 and placed["result"]["status"] == "FILLED"
            w1 = {"symbol": "BTCUSDT", "origClientOrderId": "w1"}
            ws.send({"id": "s", "method": "order.status", "params": _ws_signed(w1)})
            assert (await ws.recv())["result"]["orderId"] == placed["result"]["orderId"]
            ws.send({"id": "c", "method": "order.cancel", "params": _ws_signed(w1)})
            assert (await ws.recv())["error"]["code"] == -2011

            # userTrades: the fill, once, under its trade id; the stream carried it and an
            # ACCOUNT_UPDATE with the new position.
            [order] = [o for o in venue.engine.orders.values() if o.client_id == "w1"]
            _, trades = await call("GET", "/fapi/v1/userTrades", symbol="BTCUSDT")
            assert [(t["id"], t["orderId"], t["side"], t["buyer"]) for t in trades] == [
                (f.trade_id, order.id, "BUY", True) for f in order.fills
            ]
            events = []
            while not events or events[-1]["e"] != "ACCOUNT_UPDATE":
                events.append(await stream.recv())
            trade = next(e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["x"] == "TRADE")
            assert trade["c"] == "w1" and trade["t"] == order.fills[0].trade_id
            assert events[-1]["a"]["P"][0]["pa"] == "0.010" and events[-1]["a"]["m"] == "ORDER"

            # A key expired on demand: the event, then nothing more on it.
            assert venue.listen_keys.expire_now("fk") == lk and venue.listen_keys.expired == [lk]
            assert (await stream.recv())["e"] == "listenKeyExpired"
            s, _, body = await http("PUT", f"{ep['rest']}/fapi/v1/listenKey?listenKey={lk}", headers=key)
            assert orjson.loads(body)["code"] == -1125

    asyncio.run(go())
