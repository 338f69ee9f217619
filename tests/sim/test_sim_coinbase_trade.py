"""Coinbase: the WebSocket ``user`` channel (JWT required; snapshot, then an update per order event),
FOK and IOC limit configurations, order edit, and INSUFFICIENT_FUND for a funded account."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from simclient import connect, http
from test_sim_coinbase_auth import NAME, jwt, register
from tickwire.sim import Simulator


def test_user_channel_fok_edit_and_funds() -> None:
    async def go() -> None:
        priv = ec.generate_private_key(ec.SECP256R1())
        async with Simulator(["coinbase"], rate=0, depth=20) as sim:
            register(sim, priv)
            urls = sim.urls()["coinbase"][0]
            host = urlsplit(urls["rest"]).netloc

            def token(uri: str | None = None) -> str:
                now = int(time.time())
                claims: dict[str, Any] = {"sub": NAME, "iss": "cdp", "nbf": now, "exp": now + 120}
                return jwt(priv, "ES256", {**claims, "uri": uri} if uri else claims)

            async def place(cid: str, conf: dict[str, Any]) -> Any:
                body = {
                    "client_order_id": cid,
                    "product_id": "BTC-USD",
                    "side": "BUY",
                    "order_configuration": conf,
                }
                return await call("/api/v3/brokerage/orders", body)

            async def call(path: str, obj: Any) -> Any:
                hdrs = {"Authorization": f"Bearer {token('POST ' + host + path)}"}
                _, _, data = await http("POST", urls["rest"] + path, json.dumps(obj).encode(), hdrs)
                return json.loads(data)

            u = await connect(urls["ws"]["user"])
            u.send({"type": "subscribe", "channel": "user", "product_ids": []})
            assert (await u.recv())["type"] == "error", "the user channel needs a JWT"
            u.send({"type": "subscribe", "channel": "user", "product_ids": [], "jwt": token()})
            snap = await u.recv()
            assert snap["channel"] == "user" and snap["events"] == [{"type": "snapshot", "orders": []}]

            bid = sim.book("coinbase", "BTC-USD", 1).bids[0][0]
            gtc = {"limit_limit_gtc": {"base_size": "0.01", "limit_price": str(bid - 5), "post_only": False}}
            made = await place("u1", gtc)
            oid = made["success_response"]["order_id"]
            up = await u.recv()
            (o,) = up["events"][0]["orders"]
            assert (o["order_id"], o["status"], o["leaves_quantity"]) == (oid, "OPEN", "0.01000000")
            assert up["sequence_num"] == snap["sequence_num"] + 1

            edited = await call(
                "/api/v3/brokerage/orders/edit", {"order_id": oid, "price": str(bid - 6), "size": "0.02"}
            )
            assert edited == {"success": True, "success_response": {"order_id": oid}, "errors": []}
            (o,) = (await u.recv())["events"][0]["orders"]
            assert o["order_id"] == oid and o["leaves_quantity"] == "0.02000000"
            assert dict(sim.book("coinbase", "BTC-USD").bids)[bid - 6] >= Decimal("0.02")

            # FOK larger than the best ask level but priced at it: nothing fills, the book is untouched.
            ask = sim.book("coinbase", "BTC-USD", 1).asks[0]
            fok = {
                "limit_limit_fok": {
                    "base_size": str(ask[1] + Decimal("0.00000001")),
                    "limit_price": str(ask[0]),
                }
            }
            r = await place("f1", fok)
            assert r["success"] is True
            events = [(await u.recv())["events"][0]["orders"][0]["status"] for _ in range(2)]
            assert events == ["EXPIRED", "EXPIRED"] and sim.book("coinbase", "BTC-USD", 1).asks[0] == ask

            sim.fund("coinbase", NAME, {"USD": "1"})
            poor = await place("p1", gtc)
            assert poor["success"] is False and poor["error_response"]["error"] == "INSUFFICIENT_FUND"

    asyncio.run(go())


def test_rate_limit_headers_429_and_accounts() -> None:
    async def go() -> None:
        priv = ec.generate_private_key(ec.SECP256R1())
        async with Simulator(["coinbase"], rate=0, depth=5, profiles={"coinbase": {"rate_limit": 2}}) as sim:
            register(sim, priv)
            sim.fund("coinbase", NAME, {"USD": "250", "BTC": "0.5"})
            base = sim.urls()["coinbase"][0]["rest"]
            path = "/api/v3/brokerage/accounts"
            got = []
            for _ in range(3):
                now = int(time.time())
                claims = {"sub": NAME, "iss": "cdp", "nbf": now, "exp": now + 120}
                claims["uri"] = f"GET {urlsplit(base).netloc}{path}"
                got.append(
                    await http(
                        "GET", base + path, headers={"Authorization": f"Bearer {jwt(priv, 'ES256', claims)}"}
                    )
                )
            assert [s for s, _, _ in got] == [200, 200, 429]
            assert [h["x-ratelimit-remaining"] for _, h, _ in got] == ["1", "0", "0"]
            assert all(
                h["x-ratelimit-limit"] == "2" and int(h["x-ratelimit-reset"]) >= now for _, h, _ in got
            )
            accounts = json.loads(got[0][2])["accounts"]
            assert {a["currency"]: a["available_balance"]["value"] for a in accounts} == {
                "BTC": "0.5",
                "USD": "250",
            }

    asyncio.run(go())
