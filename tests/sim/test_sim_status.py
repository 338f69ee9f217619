"""``Simulator.set_status`` on each venue whose list shows it beyond Binance spot: the instrument list
in the venue's own words, and its order entry — REST, order socket and batch entries — refusing new
orders with the venue's code while cancels still go."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from simclient import get_json, http
from test_sim_okx_auth import SECRET as OKX_SECRET
from test_sim_okx_trade import login, rest_client
from tickwire.sim import ApiKey, Simulator
from tickwire.sim.engine import EngineError
from tickwire.sim.market import BID
from tickwire.sim.venues.bybit.trade import BYBIT_ERRORS


def _one(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    [row] = [r for r in rows if r[key] == value]
    return row


# venue, symbol, the list's path, what of the symbol's entry says its status, and that for "open",
# "cancel_only" and "closed".
LISTS: list[tuple[str, str, str, Callable[[Any], object], tuple[object, object, object]]] = [
    ("binance-usdm", "BTCUSDT", "/fapi/v1/exchangeInfo",
     lambda b: _one(b["symbols"], "symbol", "BTCUSDT")["status"], ("TRADING", "SETTLING", "SETTLING")),
    ("okx", "BTC-USDT", "/api/v5/public/instruments?instType=SPOT",
     lambda b: _one(b["data"], "instId", "BTC-USDT")["state"], ("live", "suspend", "suspend")),
    ("bybit", "BTCUSDT", "/v5/market/instruments-info?category=spot&symbol=BTCUSDT",
     lambda b: b["result"]["list"][0]["status"], ("Trading", "Closed", "Closed")),
    ("htx", "btcusdt", "/v1/common/symbols",
     lambda b: _one(b["data"], "symbol", "btcusdt")["state"], ("online", "suspend", "offline")),
    ("coinbase", "BTC-USDT", "/api/v3/brokerage/market/products",
     lambda b: {k: v for k, v in _one(b["products"], "product_id", "BTC-USDT").items()
                if k in ("status", "cancel_only", "trading_disabled")},
     ({"status": "online", "cancel_only": False, "trading_disabled": False},
      {"status": "online", "cancel_only": True, "trading_disabled": False},
      {"status": "online", "cancel_only": False, "trading_disabled": True})),
    ("kraken", "BTC/USDT", "/0/public/AssetPairs?pair=BTC/USDT",
     lambda b: next(iter(b["result"].values()))["status"], ("online", "cancel_only", "cancel_only")),
]  # fmt: skip


@pytest.mark.parametrize(("venue", "symbol", "path", "status_of", "words"), LISTS, ids=[x[0] for x in LISTS])
def test_each_venues_list_shows_the_status_in_its_own_words(
    venue: str, symbol: str, path: str, status_of: Callable[[Any], object], words: tuple[object, ...]
) -> None:
    async def go() -> None:
        async with Simulator([venue], rate=0, depth=10) as sim:
            base = sim.urls()[venue][0]["rest"]
            for set_to, word in zip(
                ("open", "cancel_only", "closed", "open"), (*words, words[0]), strict=True
            ):
                sim.set_status(venue, symbol, set_to)
                assert status_of(await get_json(base + path)) == word, set_to

    asyncio.run(go())


def test_usdm_refuses_a_new_order_and_a_batch_entry_with_4140_and_takes_a_cancel() -> None:
    secret = "fut-secret"

    async def go() -> None:
        async with Simulator(["binance-usdm"], rate=0, depth=20) as sim:
            v: Any = sim.venue("binance-usdm")
            v.add_key(ApiKey("fk", secret=secret.encode()))
            base = sim.urls()["binance-usdm"][0]["rest"]

            async def call(method: str, path: str, **params: Any) -> tuple[int, Any]:
                q = urlencode({**params, "timestamp": int(time.time() * 1000)})
                sig = hmac.new(secret.encode(), q.encode(), hashlib.sha256).hexdigest()
                s, _, body = await http(
                    method, f"{base}{path}?{q}&signature={sig}", headers={"X-MBX-APIKEY": "fk"}
                )
                return s, orjson.loads(body)

            bid = sim.book("binance-usdm", "BTCUSDT", 1).bids[0][0]
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01",
                     "price": str(bid - 5), "timeInForce": "GTC"}  # fmt: skip
            s, resting = await call("POST", "/fapi/v1/order", **order, newClientOrderId="r1")
            assert s == 200 and resting["status"] == "NEW"
            sim.set_status("binance-usdm", "BTCUSDT", "closed")
            s, refused = await call("POST", "/fapi/v1/order", **order, newClientOrderId="r2")
            assert (s, refused) == (400, {"code": -4140, "msg": "Invalid symbol status for opening position"})
            s, refused = await call(
                "POST", "/fapi/v1/order", **order, newClientOrderId="r3", reduceOnly="true"
            )
            assert refused["code"] == -4140
            eth = {
                **order,
                "symbol": "ETHUSDT",
                "price": str(sim.book("binance-usdm", "ETHUSDT", 1).bids[0][0] - 5),
            }
            batch = orjson.dumps(
                [{**order, "newClientOrderId": "b1"}, {**eth, "newClientOrderId": "b2"}]
            ).decode()
            s, out = await call("POST", "/fapi/v1/batchOrders", batchOrders=batch)
            assert out[0]["code"] == -4140 and out[1]["status"] == "NEW"
            s, gone = await call("DELETE", "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId="r1")
            assert s == 200 and gone["status"] == "CANCELED"
            assert sorted(o.client_id for o in v.engine.orders.values()) == ["b2", "r1"]

    asyncio.run(go())


def test_okx_refuses_rest_socket_and_batch_orders_on_suspended_and_preopen_pairs_and_takes_a_cancel() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=20, profiles={"okx": {"preopen": ["NEW-USDT"]}}) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", OKX_SECRET, "pp")  # the key test_sim_okx_trade's clients sign with
            urls = sim.urls()["okx"][0]
            call = rest_client(urls["rest"])
            listed = await call("GET", "/api/v5/public/instruments?instType=SPOT")
            codes = {d["instId"]: d["instIdCode"] for d in listed["data"]}
            far = str(sim.book("okx", "BTC-USDT", 1).bids[0][0] - 100)
            order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.001",
                     "px": far}  # fmt: skip
            assert (await call("POST", "/api/v5/trade/order", {**order, "clOrdId": "rest0"}))["code"] == "0"
            sim.set_status("okx", "BTC-USDT", "closed")
            made = await call("POST", "/api/v5/trade/order", {**order, "clOrdId": "rest1"})
            assert made["code"] == "1"
            assert (made["data"][0]["sCode"], made["data"][0]["sMsg"]) == ("51022", "Contract suspended.")
            eth = {**order, "instId": "ETH-USDT", "px": str(sim.book("okx", "ETH-USDT", 1).bids[0][0] - 10)}
            batch = await call(
                "POST", "/api/v5/trade/batch-orders", [{**order, "clOrdId": "b1"}, {**eth, "clOrdId": "b2"}]
            )
            assert batch["code"] == "2" and [d["sCode"] for d in batch["data"]] == ["51022", "0"]
            new = {**order, "instId": "NEW-USDT", "px": "1", "sz": "1", "clOrdId": "pre1"}
            pre = await call("POST", "/api/v5/trade/order", new)
            assert pre["code"] == "1" and pre["data"][0]["sCode"] == "51021"
            c = await login(urls["ws"]["private"])
            ws_order = {k: x for k, x in order.items() if k != "instId"}
            c.send(
                {
                    "id": "1",
                    "op": "order",
                    "args": [{**ws_order, "instIdCode": codes["BTC-USDT"], "clOrdId": "ws1"}],
                }
            )
            r = await c.recv()
            assert r["code"] == "1" and r["data"][0]["sCode"] == "51022"
            c.send(
                {
                    "id": "2",
                    "op": "order",
                    "args": [{**ws_order, "instIdCode": codes["NEW-USDT"], "clOrdId": "ws2"}],
                }
            )
            r = await c.recv()
            assert r["code"] == "1" and r["data"][0]["sCode"] == "51021"
            gone = await call(
                "POST", "/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "clOrdId": "rest0"}
            )
            assert gone["code"] == "0"
            assert sorted(o.client_id for o in v.engine.orders.values()) == ["b2", "rest0"]
            assert not next(o for o in v.engine.orders.values() if o.client_id == "rest0").open

    asyncio.run(go())


def test_bybit_refuses_a_closed_spot_pair_with_170157_and_a_derivative_with_110074() -> None:
    """The one create path REST, the trade socket and create-batch entries share (``_create``)."""

    async def go() -> None:
        async with Simulator(["bybit"], rate=0, depth=20) as sim:
            v: Any = sim.venue("bybit")
            ep = sim.endpoint("bybit", 0)
            bid = sim.book("bybit", "BTCUSDT", 1).bids[0][0]
            order = {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
                     "price": str(bid - 10), "category": "spot"}  # fmt: skip
            made = v.trade._create("acct", ep, {**order, "orderLinkId": "s0"})
            sim.set_status("bybit", "BTCUSDT", "closed")
            for category, code in (("spot", 170157), ("linear", 110074)):
                with pytest.raises(EngineError) as refused:
                    v.trade._create("acct", ep, {**order, "category": category})
                assert BYBIT_ERRORS[refused.value.code][0] == code
            v.trade._cancel("acct", {"symbol": "BTCUSDT", "orderId": made["orderId"]})
            [o] = v.engine.orders.values()
            assert o.client_id == "s0" and not o.open

    asyncio.run(go())


def test_kraken_socket_and_rest_refuse_a_cancel_only_pair_and_htx_and_coinbase_entries_refuse() -> None:
    async def go() -> None:
        async with Simulator(["kraken", "htx", "coinbase"], rate=0, depth=20) as sim:
            kr: Any = sim.venue("kraken")
            sim.set_status("kraken", "BTC/USDT", "cancel_only")
            replies: list[dict[str, Any]] = []
            p = {
                "symbol": "BTC/USDT",
                "side": "buy",
                "order_type": "limit",
                "order_qty": "0.001",
                "limit_price": "1",
            }
            kr.trade._add(None, "acct", p, replies.append)
            assert replies == [
                {"error": "EService:Market in cancel_only mode", "method": "add_order", "success": False}
            ]
            form = {"pair": "BTC/USDT", "type": "buy", "ordertype": "limit", "volume": "0.001", "price": "1"}
            answer = kr.trade.rest(sim.endpoint("kraken", 0), "acct", "AddOrder", form)
            assert answer == {"error": ["EService:Market in cancel_only mode"]}

            hx: Any = sim.venue("htx")
            ep = sim.endpoint("htx", 0)
            order = {"symbol": "btcusdt", "type": "buy-limit", "amount": "0.001", "price": "1",
                     "client-order-id": "h1", "account-id": hx.trade.account_id("acct")}  # fmt: skip
            for set_to, code in (("cancel_only", "order-disabled"), ("closed", "base-symbol-trade-disabled")):
                sim.set_status("htx", "btcusdt", set_to)
                assert hx.trade.place(ep, "acct", order["account-id"], order)["err-code"] == code

            cb: Any = sim.venue("coinbase")
            sim.set_status("coinbase", "BTC-USDT", "closed")
            limit = {"limit_limit_gtc": {"base_size": "0.001", "limit_price": "1"}}
            body = {
                "product_id": "BTC-USDT",
                "side": "BUY",
                "client_order_id": "c1",
                "order_configuration": limit,
            }
            resp = cb.orders.create(sim.endpoint("coinbase", 0), "acct", body)
            refused = orjson.loads(resp.body)
            assert refused["success"] is False
            assert refused["error_response"]["new_order_failure_reason"] == "UNTRADABLE_PRODUCT"
            for venue in ("kraken", "htx", "coinbase"):
                assert not sim.venue(venue).engine.orders, venue

    asyncio.run(go())


def test_a_status_back_to_open_takes_orders_again() -> None:
    async def go() -> None:
        async with Simulator(["htx"], rate=0, depth=20) as sim:
            hx: Any = sim.venue("htx")
            aid = hx.trade.account_id("acct")
            bid = sim.book("htx", "btcusdt", 1).bids[0][0]
            order = {"symbol": "btcusdt", "type": "buy-limit", "amount": "0.001", "price": str(bid - 10),
                     "client-order-id": "h1", "account-id": aid}  # fmt: skip
            sim.set_status("htx", "btcusdt", "closed")
            assert "err-code" in hx.trade.place(sim.endpoint("htx", 0), "acct", aid, order)
            sim.set_status("htx", "btcusdt", "open")
            placed = hx.trade.place(sim.endpoint("htx", 0), "acct", aid, order)
            assert "order-id" in placed
            [o] = hx.engine.orders.values()
            assert o.open and o.side == BID

    asyncio.run(go())
