"""Binance WebSocket API signing (venues.md §1.3): the test signs with its own code — params sorted by
name, ``k=v`` joined by ``&``, no percent-encoding, ``apiKey`` included — and the simulator accepts
exactly those requests."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from simclient import connect
from tickwire.sim import ApiKey, Simulator

HMAC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def payload(params: dict[str, Any]) -> bytes:
    return "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()


def test_hmac_order_test_and_ed25519_session_logon() -> None:
    async def go() -> None:
        priv = ed25519.Ed25519PrivateKey.generate()
        pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        async with Simulator(["binance"], rate=0) as sim:
            v = sim.venue("binance")
            v.add_key(ApiKey("hkey", secret=HMAC_SECRET.encode()))  # type: ignore[attr-defined]
            v.add_key(ApiKey("ekey", public_key=pem))  # type: ignore[attr-defined]
            c = await connect(sim.urls()["binance"][0]["ws"]["ws_api"])

            async def call(method: str, params: dict[str, Any]) -> dict[str, Any]:
                c.send({"id": method, "method": method, "params": params})
                reply: dict[str, Any] = await c.recv()
                assert reply["id"] == method and "rateLimits" in reply
                return reply

            # A price with a character REST would percent-encode: the WS rule signs it raw.
            p = {"apiKey": "hkey", "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
            p.update(price="0.1", quantity="1", newClientOrderId="a/b c", timestamp=int(time.time() * 1000))
            sig = hmac.new(HMAC_SECRET.encode(), payload(p), hashlib.sha256).hexdigest()
            assert (await call("order.test", {**p, "signature": sig}))["status"] == 200
            assert (await call("v3/order.test", {**p, "signature": sig}))["status"] == 200  # version prefix
            # Unsorted (REST-style) payload, or without apiKey in it: refused.
            unsorted = "&".join(f"{k}={x}" for k, x in p.items()).encode()
            bad = hmac.new(HMAC_SECRET.encode(), unsorted, hashlib.sha256).hexdigest()
            assert (await call("order.test", {**p, "signature": bad}))["error"]["code"] == -1022
            no_key = {k: x for k, x in p.items() if k != "apiKey"}
            bad = hmac.new(HMAC_SECRET.encode(), payload(no_key), hashlib.sha256).hexdigest()
            assert (await call("order.test", {**p, "signature": bad}))["error"]["code"] == -1022
            # session.logon: HMAC keys refused, Ed25519 accepted, then no apiKey/signature needed.
            lp = {"apiKey": "hkey", "timestamp": int(time.time() * 1000)}
            hs = hmac.new(HMAC_SECRET.encode(), payload(lp), hashlib.sha256).hexdigest()
            assert (await call("session.logon", {**lp, "signature": hs}))["status"] == 400
            lp = {"apiKey": "ekey", "timestamp": int(time.time() * 1000)}
            es = base64.b64encode(priv.sign(payload(lp))).decode()
            logon = await call("session.logon", {**lp, "signature": es})
            assert logon["status"] == 200 and logon["result"]["apiKey"] == "ekey"
            order = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "1"}
            assert (await call("order.test", {**order, "timestamp": int(time.time() * 1000)}))[
                "status"
            ] == 200
            assert (await call("order.test", order))["error"]["code"] == -1102  # timestamp still required
            assert (await call("session.logout", {}))["result"]["apiKey"] is None
            assert (await call("order.test", {**order, "timestamp": int(time.time() * 1000)}))[
                "status"
            ] == 401
            assert (await call("time", {}))["result"]["serverTime"] > 0

    asyncio.run(go())


def test_order_place_status_cancel_over_a_logged_on_session() -> None:
    async def go() -> None:
        priv = ed25519.Ed25519PrivateKey.generate()
        pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        async with Simulator(["binance"], rate=0, depth=20) as sim:
            sim.venue("binance").add_key(ApiKey("ekey", public_key=pem))  # type: ignore[attr-defined]
            c = await connect(sim.urls()["binance"][0]["ws"]["ws_api"])
            lp = {"apiKey": "ekey", "timestamp": int(time.time() * 1000)}
            c.send(
                {
                    "id": 1,
                    "method": "session.logon",
                    "params": {**lp, "signature": base64.b64encode(priv.sign(payload(lp))).decode()},
                }
            )
            assert (await c.recv())["status"] == 200
            truth = sim.book("binance", "ETHUSDT", 1)
            far = str(truth.bids[0][0] - 100)
            now = int(time.time() * 1000)
            p = {
                "symbol": "ETHUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.5",
                "price": far,
            }
            c.send(
                {
                    "id": 2,
                    "method": "order.place",
                    "params": {**p, "newClientOrderId": "w1", "timestamp": now},
                }
            )
            placed = await c.recv()
            assert placed["status"] == 200 and placed["result"]["status"] == "NEW", placed
            c.send(
                {
                    "id": 3,
                    "method": "order.status",
                    "params": {"symbol": "ETHUSDT", "origClientOrderId": "w1", "timestamp": now},
                }
            )
            assert (await c.recv())["result"]["orderId"] == placed["result"]["orderId"]
            assert (Decimal(far), Decimal("0.5")) in sim.book(
                "binance", "ETHUSDT"
            ).bids  # rests in the public book
            c.send(
                {
                    "id": 4,
                    "method": "order.cancel",
                    "params": {"symbol": "ETHUSDT", "orderId": placed["result"]["orderId"], "timestamp": now},
                }
            )
            assert (await c.recv())["result"]["status"] == "CANCELED"
            assert (Decimal(far), Decimal("0.5")) not in sim.book("binance", "ETHUSDT").bids

    asyncio.run(go())


def test_user_data_stream_execution_reports() -> None:
    async def go() -> None:
        priv = ed25519.Ed25519PrivateKey.generate()
        pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        async with Simulator(["binance"], rate=0, depth=20) as sim:
            sim.venue("binance").add_key(ApiKey("ekey", public_key=pem))  # type: ignore[attr-defined]
            c = await connect(sim.urls()["binance"][0]["ws"]["ws_api"])
            c.send({"id": 0, "method": "userDataStream.subscribe"})
            assert (await c.recv())["status"] == 400  # no session yet
            lp = {"apiKey": "ekey", "timestamp": int(time.time() * 1000)}
            c.send(
                {
                    "id": 1,
                    "method": "session.logon",
                    "params": {**lp, "signature": base64.b64encode(priv.sign(payload(lp))).decode()},
                }
            )
            await c.recv()
            c.send({"id": 2, "method": "userDataStream.subscribe"})
            sub = await c.recv()
            assert sub["status"] == 200
            best = sim.book("binance", "BTCUSDT", 1).asks[0]
            p = {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": str(best[1]),
                "price": str(best[0]),
            }
            c.send(
                {
                    "id": 3,
                    "method": "order.place",
                    "params": {**p, "newClientOrderId": "u1", "timestamp": int(time.time() * 1000)},
                }
            )
            msgs = [await c.recv() for _ in range(3)]
            reports = [m["event"] for m in msgs if "event" in m]
            reply = next(m for m in msgs if m.get("id") == 3)
            assert reply["result"]["status"] == "FILLED"
            assert [(r["x"], r["X"]) for r in reports] == [("NEW", "NEW"), ("TRADE", "FILLED")]
            trade = reports[1]
            assert trade["c"] == "u1" and Decimal(trade["L"]) == best[0] and Decimal(trade["l"]) == best[1]
            assert trade["z"] == trade["q"] and trade["m"] is False and trade["t"] > 0
            assert all(
                m.get("subscriptionId") == sub["result"]["subscriptionId"] for m in msgs if "event" in m
            )

    asyncio.run(go())
