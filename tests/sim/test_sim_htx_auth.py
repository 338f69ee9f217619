"""HTX Signature V2 (REST) and V2.1 (``/ws/v2`` auth), venues.md §6.1 and §6.3, signed by the test's
own implementation of the documented pre-sign text; every mutation refused."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import hmac
import time
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import orjson
from picows import WSMsgType
from simclient import connect, http
from tickwire.sim import Simulator

SECRET = "htx-secret-key"


def stamp(offset: float = 0) -> str:
    return datetime.fromtimestamp(time.time() + offset, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def signature(method: str, host: str, path: str, params: dict[str, str], secret: str = SECRET) -> str:
    enc = "&".join(f"{k}={quote(params[k], safe='')}" for k in sorted(params))
    text = "\n".join([method, host.lower(), path, enc])
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def test_rest_signature_v2() -> None:
    async def go() -> None:
        async with Simulator(["htx"], rate=0) as sim:
            sim.venue("htx").add_key("ak-1", SECRET)  # type: ignore[attr-defined]
            base = sim.urls()["htx"][0]["rest"]
            host = urlsplit(base).netloc

            async def call(params: dict[str, str], sig: str, path: str = "/v1/account/accounts") -> str:
                q = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
                _, _, body = await http("GET", f"{base}{path}?{q}&Signature={quote(sig, safe='')}")
                return str(orjson.loads(body)["status"])

            p = {
                "AccessKeyId": "ak-1",
                "SignatureMethod": "HmacSHA256",
                "SignatureVersion": "2",
                "Timestamp": stamp(),
            }
            good = signature("GET", host, "/v1/account/accounts", p)
            assert await call(p, good) == "ok"
            assert await call(dict(reversed(list(p.items()))), good) == "ok"  # the server sorts
            assert await call(p, signature("POST", host, "/v1/account/accounts", p)) == "error"
            assert await call(p, signature("GET", "api.huobi.pro", "/v1/account/accounts", p)) == "error"
            assert await call(p, signature("GET", host, "/v1/account/accounts", p, "other")) == "error"
            assert await call(p, good, path="/v1/account/accountz") == "error"
            old = dict(p, Timestamp=stamp(-600))
            assert await call(old, signature("GET", host, "/v1/account/accounts", old)) == "error"
            extra = dict(p, symbol="btcusdt")  # business parameters of a GET are signed too
            assert await call(extra, good) == "error"
            assert await call(extra, signature("GET", host, "/v1/account/accounts", extra)) == "ok"

    asyncio.run(go())


def test_ws_v2_auth_and_ping() -> None:
    async def go() -> None:
        async with Simulator(["htx"], rate=0, timeouts={"ping_interval": 0.05}) as sim:
            sim.venue("htx").add_key("ak-1", SECRET)  # type: ignore[attr-defined]
            url = sim.urls()["htx"][0]["ws"]["v2"]
            host = urlsplit(url).netloc

            async def auth(**over: str) -> int:
                c = await connect(url)
                ts = stamp()
                signed = {
                    "accessKey": "ak-1",
                    "signatureMethod": "HmacSHA256",
                    "signatureVersion": "2.1",
                    "timestamp": ts,
                }
                params = {"authType": "api", **signed, "signature": signature("GET", host, "/ws/v2", signed)}
                params.update(over)
                c.send({"action": "req", "ch": "auth", "params": params})
                reply = await c.until(lambda m: m.get("ch") == "auth")
                c.close()
                return int(reply["code"])

            assert await auth() == 200
            assert await auth(signature="AAAA") == 2003
            assert await auth(accessKey="nobody") == 2003
            assert await auth(timestamp=stamp(-600)) == 2003
            c = await connect(url)

            async def answer() -> None:
                while True:
                    ping = await c.until(lambda m: m.get("action") == "ping", 5.0)
                    c.send({"action": "pong", "data": {"ts": ping["data"]["ts"]}})

            answering = asyncio.get_running_loop().create_task(answer())
            silent = await connect(url)
            await asyncio.wait_for(silent.closed, 1.0)
            assert not c.closed.done()
            answering.cancel()

    asyncio.run(go())


def test_ws_v2_frames_are_gzip_binary_when_the_profile_says() -> None:
    """venues.md §6.3: "the SDK handles both text and gzip-binary frames on v2": profile ``v2_frames``
    "gzip" sends every ``/ws/v2`` server frame (here the auth answer and a ping) as gzip binary."""

    async def go() -> None:
        async with Simulator(
            ["htx"], rate=0, timeouts={"ping_interval": 0.05}, profiles={"htx": {"v2_frames": "gzip"}}
        ) as sim:
            sim.venue("htx").add_key("ak-1", SECRET)  # type: ignore[attr-defined]
            url = sim.urls()["htx"][0]["ws"]["v2"]
            signed = {"accessKey": "ak-1", "signatureMethod": "HmacSHA256", "signatureVersion": "2.1",
                      "timestamp": stamp()}  # fmt: skip
            sig = signature("GET", urlsplit(url).netloc, "/ws/v2", signed)
            c = await connect(url)
            c.send({"action": "req", "ch": "auth", "params": {"authType": "api", **signed, "signature": sig}})
            seen = []
            for _ in range(2):
                t, data = await c.raw()
                assert t is WSMsgType.BINARY
                seen.append(orjson.loads(gzip.decompress(data)))
            assert {m["action"] for m in seen} == {"req", "ping"}
            assert next(m for m in seen if m["action"] == "req")["code"] == 200
            c.close()

    asyncio.run(go())
