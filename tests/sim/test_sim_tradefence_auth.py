"""Tradefence OAuth 2.0 authorization-code flow (seed-venues.md, RFC 6749 §4.1), as a script would
run it against a loopback redirect URI."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
from simclient import http
from tickwire.sim import Simulator

REDIRECT = "http://127.0.0.1:8765/callback"


def test_code_flow_refresh_and_bearer() -> None:
    async def go() -> None:
        async with Simulator(["tradefence"], rate=0, timeouts={"token_ttl": 0.3}) as sim:
            sim.venue("tradefence").add_client("cid", "csecret", REDIRECT)  # type: ignore[attr-defined]
            base = sim.urls()["tradefence"][0]["rest"]

            async def authorize(**over: str) -> tuple[int, dict[str, str]]:
                q = {"client_id": "cid", "redirect_uri": REDIRECT, "response_type": "code"}
                q.update(scope="trading:read trading:write", state="xyz", **over)
                status, hdrs, _ = await http("GET", f"{base}/authorize?{urlencode(q)}")
                return status, hdrs

            async def token(**form: str) -> tuple[int, Any]:
                body = urlencode({"client_id": "cid", "client_secret": "csecret", **form}).encode()
                hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
                status, _, data = await http("POST", f"{base}/token", body, hdrs)
                return status, orjson.loads(data)

            status, hdrs = await authorize()
            assert status == 302
            loc = urlsplit(hdrs["location"])
            assert f"{loc.scheme}://{loc.netloc}{loc.path}" == REDIRECT
            got = parse_qs(loc.query)
            assert got["state"] == ["xyz"]
            code = got["code"][0]
            assert (await authorize(redirect_uri="http://evil/cb"))[0] == 400
            assert (await authorize(response_type="token"))[0] == 400
            assert (await token(grant_type="authorization_code", code=code, client_secret="wrong"))[0] == 401
            status, tok = await token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
            assert (
                status == 200
                and tok["token_type"] == "Bearer"
                and tok["scope"] == "trading:read trading:write"
            )
            assert (await token(grant_type="authorization_code", code=code))[1] == {
                "error": "invalid_grant"
            }, "single use"

            async def api(tok: str) -> tuple[int, Any]:
                status, _, data = await http(
                    "GET", f"{base}/v1/orders/42", headers={"Authorization": f"Bearer {tok}"}
                )
                return status, orjson.loads(data)

            assert (await api(tok["access_token"]))[0] == 404  # authenticated; no such order
            assert await api("nope") == (401, {"code": 1001, "message": "invalid credentials"})
            status, tok2 = await token(grant_type="refresh_token", refresh_token=tok["refresh_token"])
            assert status == 200 and tok2["access_token"] != tok["access_token"]
            assert (await token(grant_type="refresh_token", refresh_token=tok["refresh_token"]))[0] == 400
            await asyncio.sleep(0.35)  # token_ttl 0.3 s here
            assert (await api(tok2["access_token"]))[0] == 401

    asyncio.run(go())


async def _token(base: str) -> str:
    q = urlencode({"client_id": "cid", "redirect_uri": REDIRECT, "response_type": "code"})
    _, hdrs, _ = await http("GET", f"{base}/authorize?{q}")
    code = parse_qs(urlsplit(hdrs["location"]).query)["code"][0]
    form = urlencode(
        {"grant_type": "authorization_code", "code": code, "client_id": "cid", "client_secret": "csecret"}
    )
    _, _, data = await http(
        "POST", f"{base}/token", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    )
    return str(orjson.loads(data)["access_token"])


def test_orders_and_batch() -> None:
    async def go() -> None:
        async with Simulator(["tradefence"], rate=0, depth=20) as sim:
            sim.venue("tradefence").add_client("cid", "csecret", REDIRECT)  # type: ignore[attr-defined]
            base = sim.urls()["tradefence"][0]["rest"]
            auth = {"Authorization": f"Bearer {await _token(base)}"}

            async def call(method: str, path: str, obj: Any = None) -> tuple[int, Any]:
                status, _, data = await http(method, base + path, orjson.dumps(obj) if obj else b"", auth)
                return status, orjson.loads(data)

            far = {
                "symbol": "AAPL",
                "type": "LIMIT",
                "side": "BUY",
                "quantity": "10",
                "price": "50.00",
                "strategy": "t",
            }
            s, o = await call("POST", "/v1/orders", far)
            assert s == 201 and o["status"] == "NEW"
            assert (await call("GET", f"/v1/orders/{o['id']}"))[1]["id"] == o["id"]
            s, bad = await call("POST", "/v1/orders", dict(far, symbol="NOPE"))
            assert bad["code"] == 1004
            best = sim.book("tradefence", "AAPL", 1).asks[0]
            buy = {"symbol": "AAPL", "type": "MARKET", "side": "BUY", "quantity": str(best[1])}
            # The document's shape: {"action", "data"}.
            ops = [
                {"action": "CREATE_ORDER", "data": buy},
                {"action": "CANCEL_ORDER", "data": {"order_id": o["id"]}},
                {"action": "UPDATE_POSITION", "data": {"symbol": "AAPL", "quantity": "0"}},
                {"action": "UPDATE_POSITION", "data": {"symbol": "NOPE", "quantity": "0"}},
                {"action": "CREATE_ORDER", "order": buy},
            ]
            s, batch = await call("POST", "/v1/batch", {"operations": ops})
            results = batch["results"]
            assert [r["status"] for r in results] == [201, 200, 200, 400, 400]
            assert results[0]["result"]["status"] == "FILLED" and results[1]["result"]["status"] == "CANCELED"
            # UPDATE_POSITION to 0 sold what CREATE_ORDER bought.
            closing = results[2]["result"]["order"]
            assert closing["side"] == "SELL" and closing["quantity"] == buy["quantity"]
            assert results[2]["result"]["quantity"] == "0" and results[3]["result"]["code"] == 1004
            assert (await call("GET", "/v1/account"))[1]["positions"] == []
            assert sim.book("tradefence", "AAPL", 1).asks[0] != best

    asyncio.run(go())


def test_market_closed_profile() -> None:
    async def go() -> None:
        async with Simulator(["tradefence"], rate=0, profiles={"tradefence": {"market_open": False}}) as sim:
            sim.venue("tradefence").add_client("cid", "csecret", REDIRECT)  # type: ignore[attr-defined]
            base = sim.urls()["tradefence"][0]["rest"]
            auth = {"Authorization": f"Bearer {await _token(base)}"}
            order = {"symbol": "AAPL", "type": "MARKET", "side": "BUY", "quantity": "1"}
            _, _, data = await http("POST", base + "/v1/orders", orjson.dumps(order), auth)
            assert orjson.loads(data)["code"] == 1003

    asyncio.run(go())


def test_ai_recommendations_follow_the_book() -> None:
    from decimal import Decimal

    async def go() -> None:
        async with Simulator(["tradefence"], rate=0, depth=20) as sim:
            sim.venue("tradefence").add_client("cid", "csecret", REDIRECT)  # type: ignore[attr-defined]
            base = sim.urls()["tradefence"][0]["rest"]
            auth = {"Authorization": f"Bearer {await _token(base)}"}
            ask = {"portfolio": ["AAPL", {"symbol": "GOOGL", "quantity": 5}], "risk_tolerance": "MODERATE",
                   "time_horizon": "30_DAYS"}  # fmt: skip
            s, _, body = await http("POST", base + "/v1/ai/recommendations", orjson.dumps(ask), auth)
            recs = orjson.loads(body)["recommendations"]
            assert s == 200 and [r["symbol"] for r in recs] == ["AAPL", "GOOGL"]
            for r in recs:
                truth = sim.book("tradefence", r["symbol"], 1)
                mid = (truth.bids[0][0] + truth.asks[0][0]) / 2
                assert Decimal(r["price"]) == mid and 0 <= Decimal(r["confidence"]) <= 1
                ref = Decimal({"AAPL": "190", "GOOGL": "170"}[r["symbol"]])
                dev = (mid - ref) / ref
                assert r["action"] == (
                    "HOLD" if abs(dev) <= Decimal("0.01") else "SELL" if dev > 0 else "BUY"
                )
            bad = dict(ask, portfolio=["NOPE"])
            s, _, body = await http("POST", base + "/v1/ai/recommendations", orjson.dumps(bad), auth)
            assert (s, orjson.loads(body)["code"]) == (400, 1004)
            s, _, _ = await http(
                "POST", base + "/v1/ai/recommendations", orjson.dumps(dict(ask, risk_tolerance="YOLO")), auth
            )
            assert s == 400

    asyncio.run(go())
