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
        # 3 s of token life: enough for the calls below on a loaded CI machine, short enough to wait out.
        timeouts = {"token_ttl": 3.0, "timestamp_window": 5.0}
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
            assert status == 200 and tok["token_type"] == "Bearer" and tok["expires_in"] == 3
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
            await asyncio.sleep(3.1)  # the first access token expires (token_ttl 3 s here)
            assert (await call("GET", "/v1/account", q, **signed("GET", "/v1/account", q), **bearer))[1][
                "code"
            ] == 4015

    asyncio.run(go())


def test_orders_idempotency_and_kill_switch() -> None:
    async def go() -> None:
        async with Simulator(["clarofinlore"], rate=0, depth=20) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            base = sim.urls()["clarofinlore"][0]["rest"]
            body = b"{}"
            _, _, data = await http(
                "POST", base + "/v1/auth/token", body, signed("POST", "/v1/auth/token", body=body)
            )
            bearer = {"Authorization": f"Bearer {orjson.loads(data)['access_token']}"}

            async def call(method: str, path: str, obj: Any = None) -> tuple[int, Any]:
                raw = orjson.dumps(obj) if obj is not None else b""
                status, _, out = await http(
                    method, base + path, raw, {**signed(method, path, body=raw), **bearer}
                )
                return status, orjson.loads(out)

            truth = sim.book("clarofinlore", "btc-usdt", 1)
            rest = {
                "symbol": "btc-usdt",
                "side": "buy",
                "type": "limit",
                "quantity": "0.01",
                "price": "100.00",
            }
            s, a = await call("POST", "/v1/orders", {**rest, "client_order_id": "bot1-0001"})
            assert s == 200 and a["status"] == "new"
            s, again = await call("POST", "/v1/orders", {**rest, "client_order_id": "bot1-0001"})
            assert again["order_id"] == a["order_id"], "a retried client order id creates no second order"
            buy = {"symbol": "btc-usdt", "side": "buy", "type": "market", "quantity": str(truth.asks[0][1])}
            s, m = await call("POST", "/v1/orders", {**buy, "client_order_id": "bot1-0002"})
            assert m["status"] == "filled"
            s, acct = await call("GET", "/v1/account")
            pos = {"symbol": "btc-usdt", "quantity": m["quantity"], "side": "long"}
            assert acct["positions"] == [{**pos, "entry_price": f"{truth.asks[0][0]:.2f}"}]
            s, kill = await call("POST", "/v1/positions/close-all")
            assert [o["order_id"] for o in kill["cancelled"]] == [a["order_id"]]
            assert (
                kill["closing_orders"][0]["side"] == "sell"
                and kill["closing_orders"][0]["status"] == "filled"
            )
            s, acct = await call("GET", "/v1/account")
            assert acct["positions"] == []
            s, got = await call("GET", f"/v1/orders/{a['order_id']}")
            assert got["status"] == "canceled"

    asyncio.run(go())


def test_rate_limit_429_with_retry_after() -> None:
    async def go() -> None:
        profiles = {"clarofinlore": {"rate_limit": 3}}
        async with Simulator(
            ["clarofinlore"], rate=0, profiles=profiles, timeouts={"rate_window": 0.3}
        ) as sim:
            sim.venue("clarofinlore").add_key("ck", SECRET)  # type: ignore[attr-defined]
            url = sim.urls()["clarofinlore"][0]["rest"] + "/v1/auth/token"
            await asyncio.sleep(0.3 - time.monotonic() % 0.3)  # start at a window boundary
            got = []
            for _ in range(5):
                status, hdrs, _ = await http("POST", url, b"", signed("POST", "/v1/auth/token"))
                got.append((status, hdrs.get("retry-after")))
            assert got == [(200, None)] * 3 + [(429, "1")] * 2
            await asyncio.sleep(0.35)
            assert (await http("POST", url, b"", signed("POST", "/v1/auth/token")))[0] == 200

    asyncio.run(go())
