"""``lose_answer``: the venue processes a request and its answer is lost (REST: the connection closes
before the response; WebSocket: the socket is cut after the request was handled). The order exists in
the simulator's order list although the client saw no answer — the case exactly-once must survive."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from simclient import connect, http
from test_sim_bybit_auth import SECRET as BYBIT_SECRET
from test_sim_bybit_auth import header
from test_sim_bybit_auth import sig as bybit_sig
from test_sim_engine import SECRET, sign
from test_sim_okx_auth import SECRET as OKX_SECRET
from test_sim_okx_trade import login
from tickwire.sim import ApiKey, Simulator


def order_params(cid: str, price: str) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": price,
        "newClientOrderId": cid,
        "timestamp": int(time.time() * 1000),
    }


def test_rest_answer_lost_but_order_placed_once() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=20) as sim:
            v: Any = sim.venue("binance")
            v.add_key(ApiKey("k", secret=SECRET.encode()))
            base = sim.urls()["binance"][0]["rest"]
            hdr = {"X-MBX-APIKEY": "k"}
            far = str(sim.book("binance", "BTCUSDT", 1).bids[0][0] - 100)
            sim.endpoint("binance", 0).lose_answer("POST /api/v3/order")
            with pytest.raises(asyncio.IncompleteReadError):
                await http("POST", f"{base}/api/v3/order?{sign(order_params('lost-1', far))}", headers=hdr)
            placed = [o for o in v.engine.orders.values() if o.client_id == "lost-1"]
            assert len(placed) == 1 and placed[0].open
            assert sim.endpoint("binance", 0).lost == ["POST /api/v3/order"]
            # Once only: the query that follows is answered, and finds the order.
            q = sign(
                {"symbol": "BTCUSDT", "origClientOrderId": "lost-1", "timestamp": int(time.time() * 1000)}
            )
            status, _, body = await http("GET", f"{base}/api/v3/order?{q}", headers=hdr)
            assert status == 200 and orjson.loads(body)["orderId"] == placed[0].id
            # Other operations are untouched; a second POST is answered.
            status, _, _ = await http(
                "POST", f"{base}/api/v3/order?{sign(order_params('ok-2', far))}", headers=hdr
            )
            assert status == 200

    asyncio.run(go())


def test_ws_api_socket_cut_after_order_accepted_private_stream_reports_it() -> None:
    async def go() -> None:
        priv = ed25519.Ed25519PrivateKey.generate()
        pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        async with Simulator(["binance"], rate=0, depth=20) as sim:
            v: Any = sim.venue("binance")
            v.add_key(ApiKey("ekey", public_key=pem))
            url = sim.urls()["binance"][0]["ws"]["ws_api"]

            async def logon() -> Any:
                c = await connect(url)
                lp = {"apiKey": "ekey", "timestamp": int(time.time() * 1000)}
                payload = "&".join(f"{k}={lp[k]}" for k in sorted(lp)).encode()
                sig = base64.b64encode(priv.sign(payload)).decode()
                c.send({"id": 1, "method": "session.logon", "params": {**lp, "signature": sig}})
                assert (await c.recv())["status"] == 200
                return c

            stream, orders = await logon(), await logon()
            stream.send({"id": 2, "method": "userDataStream.subscribe", "params": {}})
            assert (await stream.recv())["status"] == 200
            far = str(sim.book("binance", "BTCUSDT", 1).bids[0][0] - 100)
            sim.endpoint("binance", 0).lose_answer("order.place")
            orders.send({"id": 3, "method": "order.place", "params": order_params("ws-lost", far)})
            await asyncio.wait_for(orders.closed, 2)
            assert orders.drain() == []  # no answer came
            report = await stream.until(lambda m: m.get("event", {}).get("e") == "executionReport")
            assert report["event"]["c"] == "ws-lost" and report["event"]["X"] == "NEW"
            assert [o.client_id for o in v.engine.orders.values()] == ["ws-lost"]

    asyncio.run(go())


def test_lose_answer_through_the_control_api_okx_ws() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=20) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", OKX_SECRET, "pp")
            control = sim.urls()["control"]
            body = {"venue": "okx", "endpoint": 0, "fault": "lose_answer", "args": {"operation": "order"}}
            status, _, _ = await http("POST", control + "/fault", orjson.dumps(body))
            assert status == 200
            c = await login(sim.urls()["okx"][0]["ws"]["private"])
            bid = sim.book("okx", "BTC-USDT", 1).bids[0][0]
            code = next(c for c, s in v.trade.codes.items() if s == "BTC-USDT")
            args = {"instIdCode": code, "side": "buy", "tdMode": "cash", "sz": "0.001"}
            args.update(ordType="limit", px=str(bid - 100), clOrdId="okxlost1")
            c.send({"id": "1", "op": "order", "args": [args]})
            await asyncio.wait_for(c.closed, 2)
            assert c.drain() == []
            assert [o.client_id for o in v.engine.orders.values()] == ["okxlost1"]

    asyncio.run(go())


@pytest.mark.parametrize("op", ["order.amend", "order.cancel"])
def test_lose_answer_bybit_trade_socket(op: str) -> None:
    """Bybit's trade socket: the amend or cancel is done, the socket cut without its answer; the private
    ``order`` topic on its own socket still reports the new state."""

    async def go() -> None:
        async with Simulator(["bybit"], rate=0, depth=20) as sim:
            v: Any = sim.venue("bybit")
            v.add_key("bk", BYBIT_SECRET)
            urls = sim.urls()["bybit"][0]["ws"]
            expires = int(time.time() * 1000) + 10_000
            priv, trade = await connect(urls["private"]), await connect(urls["trade"])
            for c in (priv, trade):
                c.send({"op": "auth", "args": ["bk", expires, bybit_sig(f"GET/realtime{expires}")]})
                await c.recv()
            priv.send({"op": "subscribe", "args": ["order.spot"]})
            assert (await priv.recv())["success"] is True
            far = sim.book("bybit", "BTCUSDT", 1).bids[0][0] - 100
            arg = {
                "category": "spot",
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Limit",
                "qty": "0.001",
            }
            trade.send({"reqId": "a", "header": header(), "op": "order.create",
                        "args": [{**arg, "price": str(far), "orderLinkId": "bl1"}]})  # fmt: skip
            assert (await trade.recv())["retCode"] == 0
            assert (await priv.recv())["data"][0]["orderStatus"] == "New"
            change = {"price": str(far - 1)} if op == "order.amend" else {}
            sim.endpoint("bybit", 0).lose_answer(op)
            ref = {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "bl1", **change}
            trade.send({"reqId": "b", "header": header(), "op": op, "args": [ref]})
            await asyncio.wait_for(trade.closed, 2)
            assert trade.drain() == [] and sim.endpoint("bybit", 0).lost == [op]
            pushed = (await priv.recv())["data"][0]
            [theirs] = v.engine.orders.values()
            if op == "order.amend":
                assert theirs.open and theirs.price * v.instruments["BTCUSDT"].tick == far - 1
                assert pushed["orderStatus"] == "New" and pushed["price"] == str(far - 1)
            else:
                assert not theirs.open and pushed["orderStatus"] == "Cancelled"

    asyncio.run(go())
