"""Clarofinlore signed requests and token flow (seed-venues.md): the test signs with its own HMAC of
method + path + query + body; mutations, stale timestamps, replayed nonces and expired tokens fail."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from typing import Any

import orjson
from simclient import http
from tickwire.sim import Simulator

SECRET = "claro-secret"
_nonce = itertools.count(1)


def signed(method: str, path: str, query: str = "", body: bytes = b"", **over: str) -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    sig = hmac.new(SECRET.encode(), (method + path + query).encode() + body, hashlib.sha256).hexdigest()
    h = {"X-API-Key": "ck", "X-Timestamp": ts, "X-Nonce": f"n{next(_nonce)}", "X-Signature": sig}
    h.update(over)
    return h


def test_token_flow_and_signed_requests() -> None:
    async def go() -> None:
        timeouts = {"token_ttl": 1.0, "timestamp_window": 5.0}
        async with Simulator(["clarofinlore"], rate=0, timeouts=timeouts) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            base = sim.urls()["clarofinlore"][0]["rest"]

            async def call(
                method: str, path: str, query: str = "", body: bytes = b"", **h: str
            ) -> tuple[int, Any]:
                status, _, data = await http(method, base + path + ("?" + query if query else ""), body, h)
                return status, orjson.loads(data)

            body = orjson.dumps({"key": "ck"})
            status, tok = await call(
                "POST", "/v1/auth/token", body=body, **signed("POST", "/v1/auth/token", body=body)
            )
            assert status == 200 and tok["token_type"] == "Bearer" and tok["expires_in"] == 1
            bearer = {"Authorization": f"Bearer {tok['access_token']}"}
            q = "detail=full"
            h = signed("GET", "/v1/account", q)
            assert (await call("GET", "/v1/account", q, **h, **bearer))[0] == 200
            assert (await call("GET", "/v1/account", q, **h, **bearer))[1]["code"] == 4014, "replayed nonce"
            assert (
                await call("GET", "/v1/account", "detail=none", **signed("GET", "/v1/account", q), **bearer)
            )[1]["code"] == 4012
            assert (await call("GET", "/v1/account", q, **signed("GET", "/v1/account", "?" + q), **bearer))[
                1
            ]["code"] == 4012
            stale = signed("GET", "/v1/account", q, **{"X-Timestamp": str(int(time.time() * 1000) - 60_000)})
            assert (await call("GET", "/v1/account", q, **stale, **bearer))[1]["code"] == 4013
            assert (
                await call(
                    "GET", "/v1/account", q, **signed("GET", "/v1/account", q, **{"X-API-Key": "x"}), **bearer
                )
            )[1]["code"] == 4011
            assert (await call("GET", "/v1/account", q, **signed("GET", "/v1/account", q)))[1][
                "code"
            ] == 4015, "no token"
            at = tok["access_token"]
            i = at.rindex(".") + 5  # a data-bearing character of the signature
            forged = {"Authorization": f"Bearer {at[:i]}{'A' if at[i] != 'A' else 'B'}{at[i + 1 :]}"}
            assert (await call("GET", "/v1/account", q, **signed("GET", "/v1/account", q), **forged))[1][
                "code"
            ] == 4015
            # Refresh: a new pair; the old refresh token is retired.
            rb = orjson.dumps({"refresh_token": tok["refresh_token"]})
            status, tok2 = await call("POST", "/v1/auth/refresh", body=rb)
            assert status == 200 and tok2["access_token"] != tok["access_token"]
            assert (await call("POST", "/v1/auth/refresh", body=rb))[1]["code"] == 4016
            await asyncio.sleep(1.1)  # the first access token expires (token_ttl 1 s here)
            assert (await call("GET", "/v1/account", q, **signed("GET", "/v1/account", q), **bearer))[1][
                "code"
            ] == 4015

    asyncio.run(go())
