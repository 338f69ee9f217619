"""Binance listenKey user data streams, the per-IP connection-rate limit, and WS API requests
spending the REST request weight (429 with retryAfter, then 418)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from picows import WSError
from simclient import connect, http
from tickwire.sim import ApiKey, Simulator

SECRET = "ud-secret"


def sign(params: dict[str, Any]) -> str:
    q = urlencode({**params, "timestamp": int(time.time() * 1000)})
    return q + "&signature=" + hmac.new(SECRET.encode(), q.encode(), hashlib.sha256).hexdigest()


def test_usdm_listen_key_stream_keepalive_close_and_expiry() -> None:
    async def go() -> None:
        timeouts = {"listen_key_ttl": 0.3}
        async with Simulator(["binance-usdm"], rate=0, depth=10, timeouts=timeouts) as sim:
            sim.venue("binance-usdm").add_key(ApiKey("ak", secret=SECRET.encode()))  # type: ignore[attr-defined]
            ep = sim.urls()["binance-usdm"][0]
            key = {"X-MBX-APIKEY": "ak"}
            lk_url = ep["rest"] + "/fapi/v1/listenKey"
            s, _, body = await http("POST", lk_url, headers=key)
            lk = orjson.loads(body)["listenKey"]
            assert s == 200 and len(lk) == 64
            s, _, body = await http("POST", lk_url, headers=key)
            assert orjson.loads(body)["listenKey"] == lk, "one active key per API key"
            s, _, body = await http("POST", lk_url, headers={"X-MBX-APIKEY": "x"})
            assert (s, orjson.loads(body)["code"]) == (401, -2015)

            raw = await connect(f"{ep['ws']['ws']}/{lk}")
            combined = await connect(f"{ep['ws']['stream']}?streams={lk}")
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                     "quantity": "0.010", "price": "10000.00", "newClientOrderId": "lk-1"}  # fmt: skip
            s, _, body = await http("POST", ep["rest"] + "/fapi/v1/order?" + sign(order), headers=key)
            assert s == 200, body
            ev = await raw.recv()
            assert ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["c"] == "lk-1" and ev["o"]["x"] == "NEW"
            assert ev["o"]["i"] == orjson.loads(body)["orderId"]
            wrapped = await combined.recv()
            assert wrapped["stream"] == lk and wrapped["data"]["o"]["c"] == "lk-1"

            # Kept alive past its first expiry, then left to expire.
            await asyncio.sleep(0.2)
            s, _, _ = await http("PUT", f"{lk_url}?listenKey={lk}", headers=key)
            assert s == 200
            await asyncio.sleep(0.2)
            assert raw.q.empty()
            ev = await raw.recv(timeout=1.0)
            assert ev["e"] == "listenKeyExpired" and ev["listenKey"] == lk
            s, _, body = await http("PUT", f"{lk_url}?listenKey={lk}", headers=key)
            assert orjson.loads(body)["code"] == -1125

            # DELETE closes the key's streams.
            _, _, body = await http("POST", lk_url, headers=key)
            lk2 = orjson.loads(body)["listenKey"]
            c2 = await connect(f"{ep['ws']['ws']}/{lk2}")
            s, _, _ = await http("DELETE", f"{lk_url}?listenKey={lk2}", headers=key)
            assert s == 200
            await asyncio.wait_for(c2.closed, 1.0)

    asyncio.run(go())


def test_spot_listen_keys_retired_ws_api_subscription_signed_by_any_key() -> None:
    """Spot listenKeys were retired on 2026-02-20 (venues.md §9): REST answers 410 / -1020 and the WS
    API's userDataStream.start is an unknown method; userDataStream.subscribe.signature (an HMAC
    key here, no session.logon) streams the account's executionReport events instead."""

    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            v: Any = sim.venue("binance")
            v.add_key(ApiKey("ak", secret=SECRET.encode()))
            ep = sim.urls()["binance"][0]
            key = {"X-MBX-APIKEY": "ak"}
            for method in ("POST", "PUT", "DELETE"):
                s, _, body = await http(
                    method, ep["rest"] + "/api/v3/userDataStream?listenKey=x", headers=key
                )
                assert (s, orjson.loads(body)["code"]) == (410, -1020)
            c = await connect(ep["ws"]["ws_api"])
            c.send({"id": 1, "method": "userDataStream.start", "params": {"apiKey": "ak"}})
            assert (await c.recv())["error"]["code"] == -1020

            def signed(params: dict[str, Any]) -> dict[str, Any]:
                p = {**params, "apiKey": "ak", "timestamp": int(time.time() * 1000)}
                text = "&".join(f"{k}={p[k]}" for k in sorted(p))
                return {
                    **p,
                    "signature": hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest(),
                }

            bad = {**signed({}), "signature": "0" * 64}
            c.send({"id": 2, "method": "userDataStream.subscribe.signature", "params": bad})
            assert (await c.recv())["error"]["code"] == -1022
            c.send({"id": 3, "method": "userDataStream.subscribe.signature", "params": signed({})})
            sub = await c.recv()
            assert sub["status"] == 200 and "subscriptionId" in sub["result"]
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                     "quantity": "0.001", "price": "10000.00", "newClientOrderId": "sig-1"}  # fmt: skip
            s, _, _ = await http("POST", ep["rest"] + "/api/v3/order?" + sign(order), headers=key)
            assert s == 200
            ev = await c.recv()
            assert ev["subscriptionId"] == sub["result"]["subscriptionId"]
            assert (ev["event"]["e"], ev["event"]["c"], ev["event"]["x"]) == (
                "executionReport",
                "sig-1",
                "NEW",
            )

            # The open-order and account methods answer from the engine and the ledger.
            c.send({"id": 4, "method": "openOrders.status", "params": signed({"symbol": "BTCUSDT"})})
            opened = await c.until(lambda m: m.get("id") == 4)
            assert [o["clientOrderId"] for o in opened["result"]] == ["sig-1"]
            c.send({"id": 5, "method": "account.status", "params": signed({})})
            account = await c.until(lambda m: m.get("id") == 5)
            assert account["result"]["accountType"] == "SPOT" and account["result"]["canTrade"] is True
            c.send({"id": 6, "method": "openOrders.cancelAll", "params": signed({"symbol": "BTCUSDT"})})
            cancelled = await c.until(lambda m: m.get("id") == 6)
            assert [o["status"] for o in cancelled["result"]] == ["CANCELED"]
            assert v.engine.open_orders("ak", None) == []

    asyncio.run(go())


def test_connection_rate_limit_per_endpoint() -> None:
    async def go() -> None:
        profile = {"binance": {"conn_limit": 3}}
        async with Simulator(["binance"], rate=0, depth=5, endpoints={"binance": 2}, profiles=profile) as sim:
            urls = sim.urls()["binance"]
            conns = [await connect(urls[0]["ws"]["ws"] + "/btcusdt@depth") for _ in range(3)]
            with pytest.raises(WSError, match="429"):
                await connect(urls[0]["ws"]["ws"] + "/btcusdt@depth")
            # Closing does not give attempts back; another endpoint (another IP) has its own budget.
            conns[0].close()
            await asyncio.sleep(0.02)
            with pytest.raises(WSError, match="429"):
                await connect(urls[0]["ws"]["ws"] + "/btcusdt@depth")
            other = await connect(urls[1]["ws"]["ws"] + "/btcusdt@depth")
            other.close()
            for c in conns[1:]:
                c.close()

    asyncio.run(go())


def test_ws_api_spends_request_weight() -> None:
    async def go() -> None:
        profile = {"binance": {"weight_limit": 5}}
        async with Simulator(["binance"], rate=0, depth=5, profiles=profile) as sim:
            ep = sim.urls()["binance"][0]
            c = await connect(ep["ws"]["ws_api"])
            got = []
            for i in range(5):
                c.send({"id": i, "method": "ping"})
                got.append(await c.recv())
            assert [g["status"] for g in got] == [200, 200, 200, 429, 418]
            # The connection itself weighed 2 ("Connecting costs 2 weight", venues.md §1.3).
            assert [g["rateLimits"][0]["count"] for g in got[:3]] == [3, 4, 5]
            assert (
                got[3]["error"]["code"] == -1003
                and got[3]["error"]["data"]["retryAfter"] > time.time() * 1000
            )
            # REST shares the budget: banned there too.
            s, hdrs, _ = await http("GET", ep["rest"] + "/api/v3/time")
            assert s == 418 and int(hdrs["retry-after"]) >= 1

    asyncio.run(go())


def test_cancel_all_open_orders() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            sim.venue("binance").add_key(ApiKey("ak", secret=SECRET.encode()))  # type: ignore[attr-defined]
            rest, key = sim.urls()["binance"][0]["rest"], {"X-MBX-APIKEY": "ak"}
            before = sim.book("binance", "BTCUSDT")
            bid = before.bids[0][0]
            for i in range(2):
                order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                         "quantity": "0.001", "price": str(bid - i)}  # fmt: skip
                assert (await http("POST", rest + "/api/v3/order?" + sign(order), headers=key))[0] == 200
            other = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                     "quantity": "0.01", "price": "1000.00"}  # fmt: skip
            await http("POST", rest + "/api/v3/order?" + sign(other), headers=key)
            s, _, body = await http(
                "DELETE", rest + "/api/v3/openOrders?" + sign({"symbol": "BTCUSDT"}), headers=key
            )
            cancelled = orjson.loads(body)
            assert s == 200 and [o["status"] for o in cancelled] == ["CANCELED", "CANCELED"]
            after = sim.book("binance", "BTCUSDT")
            assert (after.bids, after.asks) == (before.bids, before.asks), "the users' size left the book"
            _, _, body = await http("GET", rest + "/api/v3/openOrders?" + sign({}), headers=key)
            assert [o["symbol"] for o in orjson.loads(body)] == ["ETHUSDT"], "other symbols untouched"
            s, _, body = await http(
                "DELETE", rest + "/api/v3/openOrders?" + sign({"symbol": "BTCUSDT"}), headers=key
            )
            assert orjson.loads(body)["code"] == -2011

    asyncio.run(go())


def test_amend_keep_priority_rest_and_ws_api() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            v: Any = sim.venue("binance")
            v.add_key(ApiKey("ak", secret=SECRET.encode()))
            ep, key = sim.urls()["binance"][0], {"X-MBX-APIKEY": "ak"}
            bid = sim.book("binance", "BTCUSDT", 1).bids[0][0]
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                     "quantity": "0.005", "price": str(bid), "newClientOrderId": "kp"}  # fmt: skip
            _, _, body = await http("POST", ep["rest"] + "/api/v3/order?" + sign(order), headers=key)
            oid = orjson.loads(body)["orderId"]
            order2 = {**order, "newClientOrderId": "kp2"}
            await http("POST", ep["rest"] + "/api/v3/order?" + sign(order2), headers=key)
            level = dict(sim.book("binance", "BTCUSDT").bids)[bid]
            amend = {"symbol": "BTCUSDT", "orderId": oid, "newClientOrderId": "kp", "newQty": "0.002"}
            s, _, body = await http(
                "PUT", ep["rest"] + "/api/v3/order/amend/keepPriority?" + sign(amend), headers=key
            )
            got = orjson.loads(body)
            assert (
                s == 200
                and got["amendedOrder"]["qty"] == "0.00200000"
                and got["amendedOrder"]["orderId"] == oid
            )
            assert dict(sim.book("binance", "BTCUSDT").bids)[bid] == level - Decimal("0.003")
            queue = v.engine.resting["BTCUSDT"][0][int(bid / Decimal("0.01"))]
            assert [o.client_id for o in queue] == ["kp", "kp2"], "still ahead of the later order"
            grow = {**amend, "newQty": "0.004"}
            s, _, body = await http(
                "PUT", ep["rest"] + "/api/v3/order/amend/keepPriority?" + sign(grow), headers=key
            )
            refused = orjson.loads(body)  # errors.md's -2038 message
            assert refused == {"code": -2038, "msg": "Order amend (quantity increase) is not supported."}

            # The WS API method is the same call.
            c = await connect(ep["ws"]["ws_api"])
            params = {"symbol": "BTCUSDT", "origClientOrderId": "kp2", "newQty": "0.001", "apiKey": "ak",
                      "timestamp": int(time.time() * 1000)}  # fmt: skip
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
            params["signature"] = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
            c.send({"id": 1, "method": "order.amend.keepPriority", "params": params})
            r = await c.recv()
            assert r["status"] == 200 and r["result"]["amendedOrder"]["qty"] == "0.00100000"
            # Sent without newClientOrderId: the order now goes by a random client id (as documented).
            renamed = r["result"]["amendedOrder"]
            assert renamed["origClientOrderId"] == "kp2" != renamed["clientOrderId"]
            assert [o.client_id for o in queue] == ["kp", renamed["clientOrderId"]]

    asyncio.run(go())


def test_new_order_count_limit() -> None:
    async def go() -> None:
        profile = {"binance": {"order_limit_10s": 2}}
        async with Simulator(["binance"], rate=0, depth=10, profiles=profile) as sim:
            sim.venue("binance").add_key(ApiKey("ak", secret=SECRET.encode()))  # type: ignore[attr-defined]
            rest, key = sim.urls()["binance"][0]["rest"], {"X-MBX-APIKEY": "ak"}
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                     "quantity": "0.001", "price": "10000.00"}  # fmt: skip
            got = [await http("POST", rest + "/api/v3/order?" + sign(order), headers=key) for _ in range(3)]
            assert [s for s, _, _ in got] == [200, 200, 429]
            assert [h.get("x-mbx-order-count-10s") for _, h, _ in got[:2]] == ["1", "2"]
            assert got[1][1]["x-mbx-order-count-1d"] == "2"
            assert orjson.loads(got[2][2])["code"] == -1015 and int(got[2][1]["retry-after"]) >= 1
            assert len(sim.venue("binance").engine.open_orders("ak", None)) == 2, (
                "the refused order never placed"
            )

    asyncio.run(go())


def test_the_private_path_takes_the_key_and_its_events_by_query_only() -> None:
    """The routed ``/private`` user data stream as Binance serves it since the split of 2026-04-23:
    ``?listenKey=<key>&events=…`` delivers the events named and no others; the path form
    ``/private/ws/<listenKey>`` opens and delivers nothing (as production does: unicorn-binance-
    websocket-api #445/#446); a key's expiry is an event as the others: it reaches the streams that
    asked for it, and no other (the change notice names no exception)."""

    async def go() -> None:
        async with Simulator(["binance-usdm"], rate=0, depth=10) as sim:
            v: Any = sim.venue("binance-usdm")
            v.add_key(ApiKey("ak", secret=SECRET.encode()))
            ep = sim.urls()["binance-usdm"][0]
            key = {"X-MBX-APIKEY": "ak"}
            _, _, body = await http("POST", ep["rest"] + "/fapi/v1/listenKey", headers=key)
            lk = orjson.loads(body)["listenKey"]
            private = ep["ws"]["private"]
            by_path = await connect(f"{private}/{lk}")
            orders = await connect(f"{private}?listenKey={lk}&events=ORDER_TRADE_UPDATE")
            account = await connect(f"{private}?listenKey={lk}&events=ACCOUNT_UPDATE")
            both = await connect(
                f"{private}?listenKey={lk}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired"
            )
            ask = sim.book("binance-usdm", "BTCUSDT", 1).asks[0][0]
            take = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "IOC",
                    "quantity": "0.010", "price": str(ask), "newClientOrderId": "q-1"}  # fmt: skip
            s, _, body = await http("POST", ep["rest"] + "/fapi/v1/order?" + sign(take), headers=key)
            assert s == 200, body
            await asyncio.sleep(0.3)
            conns = {"path": by_path, "orders": orders, "account": account, "both": both}
            kinds = {n: [m["e"] for m in c.drain()] for n, c in conns.items()}
            assert kinds["path"] == [], kinds
            assert kinds["orders"] and set(kinds["orders"]) == {"ORDER_TRADE_UPDATE"}, kinds
            assert kinds["account"] and set(kinds["account"]) == {"ACCOUNT_UPDATE"}, kinds
            assert sorted(kinds["both"]) == sorted(kinds["orders"] + kinds["account"]), kinds
            v.listen_keys.expire_now("ak")
            await asyncio.sleep(0.2)
            assert [m["e"] for m in both.drain()] == ["listenKeyExpired"]
            assert account.drain() == [] and orders.drain() == [] and by_path.drain() == []

    asyncio.run(go())
