"""Coinbase CDP JWT (venues.md §5.1): ES256 and EdDSA tokens built by the test exactly as the official
SDK builds them (header kid/nonce/typ, claims sub/iss/nbf/exp/uri), accepted; every mutation refused."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils
from simclient import connect, http
from tickwire.sim import Simulator

NAME = "organizations/org-1/apiKeys/key-1"


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(priv: Any, alg: str, claims: dict[str, Any], kid: str = NAME) -> str:
    header = {"alg": alg, "kid": kid, "nonce": secrets.token_hex(), "typ": "JWT"}
    signing = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if alg == "ES256":
        r, s = utils.decode_dss_signature(priv.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        sig = priv.sign(signing.encode())
    return f"{signing}.{b64url(sig)}"


def test_rest_jwt_es256_and_eddsa() -> None:
    async def go() -> None:
        ecdsa = ec.generate_private_key(ec.SECP256R1())
        eddsa = ed25519.Ed25519PrivateKey.generate()
        async with Simulator(["coinbase"], rate=0) as sim:
            v = sim.venue("coinbase")
            base = sim.urls()["coinbase"][0]["rest"]
            host = urlsplit(base).netloc
            path = "/api/v3/brokerage/accounts"
            now = int(time.time())
            claims = {"sub": NAME, "iss": "cdp", "nbf": now, "exp": now + 120, "uri": f"GET {host}{path}"}

            async def status(token: str) -> int:
                return (await http("GET", base + path, headers={"Authorization": f"Bearer {token}"}))[0]

            for priv, alg in ((ecdsa, "ES256"), (eddsa, "EdDSA")):
                pem = priv.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                v.add_key(NAME, pem)  # type: ignore[attr-defined]
                assert await status(jwt(priv, alg, claims)) == 200, alg
                assert await status(jwt(priv, alg, dict(claims, uri=f"POST {host}{path}"))) == 401
                assert await status(jwt(priv, alg, {k: x for k, x in claims.items() if k != "uri"})) == 401
                assert await status(jwt(priv, alg, dict(claims, nbf=now - 300, exp=now - 180))) == 401
                assert await status(jwt(priv, alg, dict(claims, iss="other"))) == 401
                assert await status(jwt(priv, alg, claims, kid="organizations/org-1/apiKeys/other")) == 401
                token = jwt(priv, alg, claims)
                h, p, s = token.split(".")
                forged = b64url(json.dumps(dict(claims, sub="x")).encode())
                assert await status(f"{h}.{forged}.{s}") == 401
                flipped = s[:10] + ("A" if s[10] != "A" else "B") + s[11:]  # a data-bearing char
                assert await status(f"{h}.{p}.{flipped}") == 401
            other = ec.generate_private_key(ec.SECP256R1())
            assert await status(jwt(other, "ES256", claims)) == 401

    asyncio.run(go())


def test_ws_jwt_optional_but_verified() -> None:
    async def go() -> None:
        priv = ec.generate_private_key(ec.SECP256R1())
        pem = priv.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        async with Simulator(["coinbase"], rate=0) as sim:
            sim.venue("coinbase").add_key(NAME, pem)  # type: ignore[attr-defined]
            c = await connect(sim.urls()["coinbase"][0]["ws"]["market"])
            now = int(time.time())
            good = jwt(priv, "ES256", {"sub": NAME, "iss": "cdp", "nbf": now, "exp": now + 120})
            c.send({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "market_trades", "jwt": good})
            assert (await c.recv())["channel"] == "subscriptions"
            head, _, sig = good.rpartition(".")
            bad = f"{head}.{sig[:10]}{'A' if sig[10] != 'A' else 'B'}{sig[11:]}"
            c.send({"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "market_trades", "jwt": bad})
            assert (await c.recv())["type"] == "error"

    asyncio.run(go())


def register(sim: Simulator, priv: ec.EllipticCurvePrivateKey) -> None:
    """Register the test's ES256 key with the simulated venue under ``NAME``."""
    pem = priv.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sim.venue("coinbase").add_key(NAME, pem)  # type: ignore[attr-defined]


def test_rest_orders_on_the_engine() -> None:
    from decimal import Decimal

    async def go() -> None:
        priv = ec.generate_private_key(ec.SECP256R1())
        async with Simulator(["coinbase"], rate=0, depth=20) as sim:
            register(sim, priv)
            base = sim.urls()["coinbase"][0]["rest"]
            host = urlsplit(base).netloc

            async def call(method: str, path: str, obj: Any = None) -> Any:
                now = int(time.time())
                claims = {
                    "sub": NAME,
                    "iss": "cdp",
                    "nbf": now,
                    "exp": now + 120,
                    "uri": f"{method} {host}{path}",
                }
                hdrs = {
                    "Authorization": f"Bearer {jwt(priv, 'ES256', claims)}",
                    "Content-Type": "application/json",
                }
                status, _, data = await http(
                    method, base + path, json.dumps(obj).encode() if obj else b"", hdrs
                )
                assert status in (200, 404), data
                return json.loads(data)

            limit = {"limit_limit_gtc": {"base_size": "0.01", "limit_price": "100.00", "post_only": False}}
            order = {
                "client_order_id": "cb-1",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": limit,
            }
            r = await call("POST", "/api/v3/brokerage/orders", order)
            assert r["success"] is True
            oid = r["success_response"]["order_id"]
            again = await call("POST", "/api/v3/brokerage/orders", order)
            assert again["success_response"]["order_id"] == oid  # idempotent client_order_id
            assert (Decimal("100.00"), Decimal("0.01")) in sim.book("coinbase", "BTC-USD").bids
            got = await call("GET", f"/api/v3/brokerage/orders/historical/{oid}")
            assert got["order"]["status"] == "OPEN"
            best = sim.book("coinbase", "BTC-USD", 1).asks[0]
            market = {"market_market_ioc": {"base_size": str(best[1])}}
            m = await call(
                "POST",
                "/api/v3/brokerage/orders",
                {
                    "client_order_id": "cb-2",
                    "product_id": "BTC-USD",
                    "side": "BUY",
                    "order_configuration": market,
                },
            )
            filled = await call(
                "GET", f"/api/v3/brokerage/orders/historical/{m['success_response']['order_id']}"
            )
            assert (
                filled["order"]["status"] == "FILLED"
                and Decimal(filled["order"]["average_filled_price"]) == best[0]
            )
            c = await call("POST", "/api/v3/brokerage/orders/batch_cancel", {"order_ids": [oid, oid]})
            assert [x["success"] for x in c["results"]] == [True, False]
            bad = await call(
                "POST", "/api/v3/brokerage/orders", {**order, "client_order_id": "cb-3", "product_id": "XYZ"}
            )
            assert bad["success"] is False

    asyncio.run(go())
