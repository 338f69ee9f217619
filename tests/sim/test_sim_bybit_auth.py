"""Bybit v5 REST and WebSocket authentication (venues.md §3.1, §3.2), checked with the test's own
HMAC of the documented strings; every mutation refused."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from typing import Any

import orjson
from simclient import connect, http
from tickwire.sim import Simulator

SECRET = "bybit-test-secret"


def sig(s: str) -> str:
    return hmac.new(SECRET.encode(), s.encode(), hashlib.sha256).hexdigest()


def header(ts_ms: int | None = None, recv: str = "8000") -> dict[str, str]:
    """A trade-socket request's ``header`` (docs/v5/websocket/trade/guideline.mdx)."""
    ts = int(time.time() * 1000) if ts_ms is None else ts_ms
    return {"X-BAPI-TIMESTAMP": str(ts), "X-BAPI-RECV-WINDOW": recv}


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


def test_trade_create_amend_cancel() -> None:
    from decimal import Decimal

    async def go() -> None:
        async with Simulator(["bybit"], rate=0, depth=20) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            c = await connect(sim.urls()["bybit"][0]["ws"]["trade"])

            async def op(
                name: str, arg: dict[str, str], rid: str, hdr: dict[str, str] | None = None
            ) -> dict[str, object]:
                c.send({"reqId": rid, "header": header() if hdr is None else hdr, "op": name, "args": [arg]})
                reply: dict[str, object] = await c.recv()
                assert reply["reqId"] == rid and reply["op"] == name
                return reply

            assert (await op("order.create", {"symbol": "ETHUSDT"}, "r0"))["retCode"] == 10003  # no auth
            expires = int(time.time() * 1000) + 10_000
            c.send({"op": "auth", "args": ["bk", expires, sig(f"GET/realtime{expires}")]})
            assert (await c.recv())["retCode"] == 0
            c.send({"op": "auth", "args": ["bk", expires, sig(f"GET/realtime{expires}")]})
            assert (await c.recv())["retCode"] == 20001
            best_bid = sim.book("bybit", "ETHUSDT", 1).bids[0]
            far = str(best_bid[0] - 50)
            limit = {"symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.2", "price": far}
            # The header's timestamp within its window (the docs' rule), else refused before anything.
            stale = header(int(time.time() * 1000) - 9000)
            assert (await op("order.create", limit, "s1", stale))["retCode"] == 10002
            assert (await op("order.create", limit, "s2", header(int(time.time() * 1000) + 5000)))[
                "retCode"
            ] == 10002
            assert (await op("order.create", limit, "s3", {}))["retCode"] == 10001
            wide = {**stale, "X-BAPI-RECV-WINDOW": "20000"}  # the same timestamp, inside a wider window
            farther = {**limit, "price": str(best_bid[0] - 60), "orderLinkId": "W1"}
            assert (await op("order.create", farther, "s4", wide))["retCode"] == 0
            assert (await op("order.cancel", {"symbol": "ETHUSDT", "orderLinkId": "W1"}, "s5"))[
                "retCode"
            ] == 0
            created = await op("order.create", {**limit, "category": "linear", "orderLinkId": "L1"}, "r1")
            assert created["retCode"] == 0 and created["data"]["orderLinkId"] == "L1"  # type: ignore[index]
            assert (await op("order.create", limit, "r1"))["retCode"] == 20006  # duplicate reqId
            assert (Decimal(far), Decimal("0.2")) in sim.book("bybit", "ETHUSDT").bids
            amended = await op("order.amend", {"symbol": "ETHUSDT", "orderLinkId": "L1", "qty": "0.3"}, "r2")
            assert amended["retCode"] == 0
            assert (Decimal(far), Decimal("0.3")) in sim.book("bybit", "ETHUSDT").bids
            post = {
                **limit,
                "price": str(sim.book("bybit", "ETHUSDT", 1).asks[0][0]),
                "timeInForce": "PostOnly",
            }
            before = sim.book("bybit", "ETHUSDT")
            assert (await op("order.create", post, "r3"))["retCode"] == 0  # accepted, then cancelled
            assert sim.book("bybit", "ETHUSDT") == before  # a post-only order never takes
            cancelled = await op("order.cancel", {"symbol": "ETHUSDT", "orderLinkId": "L1"}, "r4")
            assert cancelled["retCode"] == 0
            assert (Decimal(far), Decimal("0.3")) not in sim.book("bybit", "ETHUSDT").bids
            assert (await op("order.cancel", {"symbol": "ETHUSDT", "orderLinkId": "L1"}, "r5"))[
                "retCode"
            ] == 110001

    asyncio.run(go())


def test_private_order_topic() -> None:
    from decimal import Decimal

    async def go() -> None:
        async with Simulator(["bybit"], rate=0, depth=20) as sim:
            sim.venue("bybit").add_key("bk", SECRET)  # type: ignore[attr-defined]
            sim.fund("bybit", "bk", {"USDT": "10000000", "BTC": "100"})  # funded: linear orders are margin
            urls = sim.urls()["bybit"][0]["ws"]
            expires = int(time.time() * 1000) + 10_000
            auth = {"op": "auth", "args": ["bk", expires, sig(f"GET/realtime{expires}")]}
            priv, trade = await connect(urls["private"]), await connect(urls["trade"])
            for c in (priv, trade):
                c.send(auth)
                await c.recv()
            priv.send({"op": "subscribe", "args": ["order", "execution.spot"]})
            assert (await priv.recv())["success"] is True
            best = sim.book("bybit", "BTCUSDT", 1).bids[0]
            arg = {
                "symbol": "BTCUSDT",
                "side": "Sell",
                "orderType": "Market",
                "qty": str(best[1]),
                "orderLinkId": "m1",
                "category": "linear",
            }
            trade.send({"reqId": "x", "header": header(), "op": "order.create", "args": [arg]})
            assert (await trade.recv())["retCode"] == 0
            # A linear order: "order" carries it, "execution.spot" does not.
            pushes = [await priv.recv() for _ in range(2)]
            assert {p["topic"] for p in pushes} == {"order"}
            assert [p["data"][0]["orderStatus"] for p in pushes] == ["New", "Filled"]
            filled = pushes[1]["data"][0]
            assert Decimal(filled["avgPrice"]) == best[0] and filled["orderLinkId"] == "m1"
            assert filled["category"] == "linear"

            spot = {**arg, "orderLinkId": "s1", "category": "spot"}
            trade.send({"reqId": "y", "header": header(), "op": "order.create", "args": [spot]})
            assert (await trade.recv())["retCode"] == 0
            [theirs] = [o for o in sim.venue("bybit").engine.orders.values() if o.client_id == "s1"]
            assert theirs.status == "FILLED" and theirs.fills
            got: dict[str, list[dict[str, Any]]] = {"order": [], "execution.spot": []}
            while (
                len(got["execution.spot"]) < len(theirs.fills)
                or got["order"][-1:] == []
                or (got["order"][-1]["orderStatus"] != "Filled")
            ):
                m = await priv.recv()
                got[m["topic"]].extend(m["data"])
            inst = sim.venue("bybit").instruments["BTCUSDT"]
            # One row per fill of the engine's own record.
            want = [(str(f.trade_id), inst.price(f.price), inst.qty(f.qty)) for f in theirs.fills]
            rows = got["execution.spot"]
            assert [(x["execId"], Decimal(x["execPrice"]), Decimal(x["execQty"])) for x in rows] == want
            for x in rows:
                assert (x["orderLinkId"], x["category"], x["execType"], x["side"]) == (
                    "s1",
                    "spot",
                    "Trade",
                    "Sell",
                )
                assert x["isMaker"] is False

            # Both forms of one topic in one request are refused; an unknown topic too.
            priv.send({"op": "subscribe", "args": ["order", "order.spot"]})
            assert (await priv.recv())["success"] is False
            priv.send({"op": "subscribe", "args": ["wallet.nope"]})
            assert (await priv.recv())["success"] is False

    asyncio.run(go())
