"""OKX REST signing and WS login (venues.md §2.1, §2.2). No fixed vector is published, so the test
signs with its own implementation of the documented formula and checks every mutation is refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from simclient import connect, http
from tickwire.sim import Simulator

SECRET = "22582BD0CFF14C41EDBF1AB98506286D"  # the docs' example secret


def sign(prehash: str, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()


def iso_now(offset_s: float = 0) -> str:
    return datetime.fromtimestamp(time.time() + offset_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_rest_signature() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0) as sim:
            sim.venue("okx").add_key("ok-key", SECRET, "pass phrase")  # type: ignore[attr-defined]
            base = sim.urls()["okx"][0]["rest"]
            path = "/api/v5/account/balance?ccy=BTC"

            async def call(
                ts: str, sig: str, key: str = "ok-key", pp: str = "pass phrase", p: str = path
            ) -> tuple[int, str]:
                hdrs = {
                    "OK-ACCESS-KEY": key,
                    "OK-ACCESS-SIGN": sig,
                    "OK-ACCESS-TIMESTAMP": ts,
                    "OK-ACCESS-PASSPHRASE": pp,
                }
                status, _, body = await http("GET", base + p, headers=hdrs)
                return status, orjson.loads(body)["code"]

            ts = iso_now()
            good = sign(ts + "GET" + path)
            assert await call(ts, good) == (200, "0")
            assert await call(ts, sign(ts + "GET" + "/api/v5/account/balance")) == (
                401,
                "50113",
            )  # query is signed
            assert await call(ts, sign(ts + "POST" + path)) == (401, "50113")
            assert await call(ts, sign(ts + "GET" + path, "other")) == (401, "50113")
            assert await call(ts, good, p="/api/v5/account/balance?ccy=ETH") == (401, "50113")
            assert await call(ts, good, key="nope") == (401, "50111")
            assert await call(ts, good, pp="wrong") == (401, "50105")
            old = iso_now(-40)
            assert await call(old, sign(old + "GET" + path)) == (401, "50102")

    asyncio.run(go())


def test_ws_login() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0) as sim:
            sim.venue("okx").add_key("ok-key", SECRET, "pp")  # type: ignore[attr-defined]
            url = sim.urls()["okx"][0]["ws"]["private"]
            ts = str(int(time.time()))

            async def login(**over: str) -> dict[str, str]:
                c = await connect(url)
                arg = {
                    "apiKey": "ok-key",
                    "passphrase": "pp",
                    "timestamp": ts,
                    "sign": sign(ts + "GET/users/self/verify"),
                }
                arg.update(over)
                c.send({"op": "login", "args": [arg]})
                reply = await c.recv()
                c.close()
                return {"event": reply["event"], "code": reply["code"]}

            assert await login() == {"event": "login", "code": "0"}
            # Each cause with OKX's own WebSocket code.
            assert await login(sign=sign(ts + "GET/users/self/verify", "x")) == {
                "event": "error",
                "code": "60007",
            }
            assert await login(sign=sign(ts + "GET/users/self/verif")) == {"event": "error", "code": "60007"}
            assert await login(passphrase="no") == {"event": "error", "code": "60024"}
            assert await login(apiKey="nope") == {"event": "error", "code": "60005"}
            assert await login(timestamp="soon") == {"event": "error", "code": "60004"}
            old = str(int(time.time()) - 40)
            assert await login(timestamp=old, sign=sign(old + "GET/users/self/verify")) == {
                "event": "error",
                "code": "60006",
            }
            c = await connect(url)
            c.send({"op": "subscribe", "args": [{"channel": "orders"}]})
            assert (await c.recv())["code"] == "60011"

    asyncio.run(go())


def test_ws_order_and_cancel_after_login() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=20) as sim:
            v = sim.venue("okx")
            v.add_key("ok-key", SECRET, "pp")  # type: ignore[attr-defined]
            code = next(c for c, s in v.trade.codes.items() if s == "BTC-USDT")  # type: ignore[attr-defined]
            c = await connect(sim.urls()["okx"][0]["ws"]["private"])
            c.send(
                {
                    "id": "o0",
                    "op": "order",
                    "args": [
                        {"instIdCode": code, "side": "buy", "ordType": "market", "sz": "1", "tdMode": "cash"}
                    ],
                }
            )
            assert (await c.recv())["code"] == "60011"  # not logged in
            ts = str(int(time.time()))
            c.send(
                {
                    "op": "login",
                    "args": [
                        {
                            "apiKey": "ok-key",
                            "passphrase": "pp",
                            "timestamp": ts,
                            "sign": sign(ts + "GET/users/self/verify"),
                        }
                    ],
                }
            )
            assert (await c.recv())["event"] == "login"
            truth = sim.book("okx", "BTC-USDT", 1)
            buy = {
                "instIdCode": code,
                "side": "buy",
                "ordType": "limit",
                "sz": str(truth.asks[0][1]),
                "px": str(truth.asks[0][0]),
                "tdMode": "cash",
                "clOrdId": "t1",
            }
            c.send({"id": "o1", "op": "order", "args": [buy]})
            r = await c.recv()
            assert (
                r["id"] == "o1"
                and r["code"] == "0"
                and r["data"][0]["sCode"] == "0"
                and r["data"][0]["clOrdId"] == "t1"
            )
            assert int(r["outTime"]) >= int(r["inTime"])
            assert sim.book("okx", "BTC-USDT", 1).asks[0] != truth.asks[0]  # the best ask was taken
            rest = {
                "instIdCode": code,
                "side": "sell",
                "ordType": "limit",
                "sz": "0.001",
                "px": "99999",
                "tdMode": "cash",
                "clOrdId": "t2",
            }
            c.send({"id": "o2", "op": "order", "args": [rest]})
            placed = await c.recv()
            assert placed["code"] == "0"
            c.send({"id": "o3", "op": "cancel-order", "args": [{"instIdCode": code, "clOrdId": "t2"}]})
            assert (await c.recv())["data"][0]["sCode"] == "0"
            c.send({"id": "o4", "op": "cancel-order", "args": [{"instIdCode": code, "clOrdId": "t2"}]})
            assert (await c.recv())["data"][0]["sCode"] == "51400"
            c.send({"id": "o5", "op": "order", "args": [dict(rest, px="99999.05")]})  # off the 0.1 tick
            bad = await c.recv()
            assert bad["code"] == "1" and bad["data"][0]["sCode"] == "51000"
            c.send({"id": "o6", "op": "order", "args": [{"instIdCode": code, "side": "buy"}]})
            assert (await c.recv())["code"] == "60013"
            c.send({"id": "o7", "op": "order", "args": [{"side": "buy"}]})  # no instrument named
            assert (await c.recv())["code"] == "50014"

    asyncio.run(go())


def test_orders_channel_pushes_order_events() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=20) as sim:
            sim.venue("okx").add_key("ok-key", SECRET, "pp")  # type: ignore[attr-defined]
            codes = sim.venue("okx").trade.codes  # type: ignore[attr-defined]
            c = await connect(sim.urls()["okx"][0]["ws"]["private"])
            ts = str(int(time.time()))
            c.send(
                {
                    "op": "login",
                    "args": [
                        {
                            "apiKey": "ok-key",
                            "passphrase": "pp",
                            "timestamp": ts,
                            "sign": sign(ts + "GET/users/self/verify"),
                        }
                    ],
                }
            )
            await c.recv()
            c.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
            assert (await c.recv())["event"] == "subscribe"
            best = sim.book("okx", "ETH-USDT", 1).asks[0]
            c.send(
                {
                    "id": "1",
                    "op": "order",
                    "args": [
                        {
                            "instIdCode": next(c for c, s in codes.items() if s == "ETH-USDT"),
                            "side": "buy",
                            "ordType": "limit",
                            "sz": str(best[1]),
                            "px": str(best[0]),
                            "tdMode": "cash",
                            "clOrdId": "e1",
                        }
                    ],
                }
            )
            msgs = [await c.recv() for _ in range(3)]
            pushes = [m["data"][0] for m in msgs if m.get("arg", {}).get("channel") == "orders"]
            assert [p["state"] for p in pushes] == ["live", "filled"]
            fill = pushes[1]
            assert fill["clOrdId"] == "e1" and fill["execType"] == "T" and Decimal(fill["fillPx"]) == best[0]
            assert Decimal(fill["accFillSz"]) == best[1] and Decimal(fill["avgPx"]) == best[0]

    asyncio.run(go())
