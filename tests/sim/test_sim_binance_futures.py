"""Binance USDⓈ-M futures order entry: orders on the engine, positions with entry price, margin at
20x (-2019 beyond it), reduceOnly (-2022), duplicate client ids (-4116), GTX post-only, cancel-all,
and ORDER_TRADE_UPDATE on the listenKey stream."""

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
