"""OKX REST signing and WS login (venues.md §2.1, §2.2). No fixed vector is published, so the test
signs with its own implementation of the documented formula and checks every mutation is refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

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
            assert await login(sign=sign(ts + "GET/users/self/verify", "x")) == {
                "event": "error",
                "code": "60009",
            }
            assert await login(passphrase="no") == {"event": "error", "code": "60009"}
            old = str(int(time.time()) - 40)
            assert await login(timestamp=old, sign=sign(old + "GET/users/self/verify")) == {
                "event": "error",
                "code": "60009",
            }
            c = await connect(url)
            c.send({"op": "subscribe", "args": [{"channel": "orders"}]})
            assert (await c.recv())["code"] == "60011"

    asyncio.run(go())
