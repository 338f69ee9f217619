"""Bybit v5 REST and WebSocket authentication (venues.md §3.1, §3.2), checked with the test's own
HMAC of the documented strings; every mutation refused."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import orjson
from simclient import connect, http
from tickwire.sim import Simulator

SECRET = "bybit-test-secret"


def sig(s: str) -> str:
    return hmac.new(SECRET.encode(), s.encode(), hashlib.sha256).hexdigest()


def test_rest_get_and_post_signatures() -> None:
    async def go() -> None:
        async with Simulator(["bybit"], rate=0) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            base = sim.urls()["bybit"][0]["rest"]
            query = "accountType=UNIFIED&coin=BTC"

            async def get(ts: str, s: str, q: str = query, key: str = "bk", recv: str = "5000") -> int:
                hdrs = {
                    "X-BAPI-API-KEY": key,
                    "X-BAPI-TIMESTAMP": ts,
                    "X-BAPI-SIGN": s,
                    "X-BAPI-RECV-WINDOW": recv,
                }
                _, _, body = await http("GET", f"{base}/v5/account/wallet-balance?{q}", headers=hdrs)
                return int(orjson.loads(body)["retCode"])

            ts = str(int(time.time() * 1000))
            assert await get(ts, sig(ts + "bk" + "5000" + query)) == 0
            assert await get(ts, sig(ts + "bk" + "5000" + query).upper()) == 10004  # lowercase hex only
            assert await get(ts, sig(ts + "bk" + "5000" + query), q="accountType=UNIFIED&coin=ETH") == 10004
            assert await get(ts, sig(ts + "bk" + "6000" + query)) == 10004
            assert await get(ts, sig(ts + "bk" + "5000" + query), key="zz") == 10003
            old = str(int(time.time() * 1000) - 6000)
            assert await get(old, sig(old + "bk" + "5000" + query)) == 10002
            assert await get(old, sig(old + "bk" + "8000" + query), recv="8000") == 0
            future = str(int(time.time() * 1000) + 3000)
            assert await get(future, sig(future + "bk" + "5000" + query)) == 10002

    asyncio.run(go())


def test_ws_auth() -> None:
    async def go() -> None:
        async with Simulator(["bybit"], rate=0) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            url = sim.urls()["bybit"][0]["ws"]["private"]
            expires = int(time.time() * 1000) + 10_000
            for args, ok in (
                (["bk", expires, sig(f"GET/realtime{expires}")], True),
                (["bk", expires + 1, sig(f"GET/realtime{expires}")], False),
                (["bk", expires - 20_000, sig(f"GET/realtime{expires - 20_000}")], False),
                (["nope", expires, sig(f"GET/realtime{expires}")], False),
            ):
                c = await connect(url)
                c.send({"req_id": "a", "op": "auth", "args": args})
                reply = await c.recv()
                assert reply["op"] == "auth" and reply["success"] is ok, args
                c.close()

    asyncio.run(go())
