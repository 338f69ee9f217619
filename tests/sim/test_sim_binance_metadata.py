"""Binance ``exchangeInfo`` (spot and USDⓈ-M) in the venue's shape, with filters taken from the
simulator's instruments, and the matching engine refusing what the filters forbid (-1013 with the
filter's name), LIMIT_MAKER (-2010 when it would take). A third-party client (ccxt, when installed)
loads the markets and places and cancels a limit order unchanged."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from simclient import get_json, http
from test_sim_engine import SECRET, sign
from tickwire.sim import ApiKey, Simulator


def by_type(symbol: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["filterType"]: f for f in symbol["filters"]}


def test_spot_exchange_info_from_the_instruments() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            base = sim.urls()["binance"][0]["rest"]
            info = await get_json(base + "/api/v3/exchangeInfo")
            assert info["timezone"] == "UTC" and info["serverTime"] > 0 and info["exchangeFilters"] == []
            assert {(r["rateLimitType"], r["interval"]) for r in info["rateLimits"]} >= {
                ("REQUEST_WEIGHT", "MINUTE"),
                ("ORDERS", "SECOND"),
                ("ORDERS", "DAY"),
            }
            insts = sim.venue("binance").instruments
            assert [s["symbol"] for s in info["symbols"]] == list(insts)
            btc = info["symbols"][0]
            assert (btc["status"], btc["baseAsset"], btc["quoteAsset"]) == ("TRADING", "BTC", "USDT")
            assert btc["baseAssetPrecision"] == btc["quotePrecision"] == 8
            assert "LIMIT_MAKER" in btc["orderTypes"] and "MARKET" in btc["orderTypes"]
            f = by_type(btc)
            inst = insts["BTCUSDT"]
            assert Decimal(f["PRICE_FILTER"]["tickSize"]) == inst.tick
            assert Decimal(f["LOT_SIZE"]["stepSize"]) == inst.lot
            assert Decimal(f["LOT_SIZE"]["minQty"]) == inst.min_qty
            assert Decimal(f["LOT_SIZE"]["maxQty"]) == inst.max_qty
            assert f["MARKET_LOT_SIZE"]["minQty"] == f["LOT_SIZE"]["minQty"]
            assert Decimal(f["NOTIONAL"]["minNotional"]) == inst.min_notional == 5
            assert f["NOTIONAL"]["applyMinToMarket"] is True and "maxNotional" in f["NOTIONAL"]
            one = await get_json(base + "/api/v3/exchangeInfo?symbol=LTCBTC")
            assert [s["symbol"] for s in one["symbols"]] == ["LTCBTC"]
            some = await get_json(base + "/api/v3/exchangeInfo?symbols=" + quote('["ETHUSDT","BNBBTC"]'))
            assert [s["symbol"] for s in some["symbols"]] == ["ETHUSDT", "BNBBTC"]
            status, _, body = await http("GET", base + "/api/v3/exchangeInfo?symbol=NOPE")
            assert (status, orjson.loads(body)["code"]) == (400, -1121)

    asyncio.run(go())


def test_futures_exchange_info() -> None:
    async def go() -> None:
        async with Simulator(["binance-usdm"], rate=0, depth=10) as sim:
            info = await get_json(sim.urls()["binance-usdm"][0]["rest"] + "/fapi/v1/exchangeInfo")
            btc = info["symbols"][0]
            assert (btc["symbol"], btc["contractType"], btc["marginAsset"]) == (
                "BTCUSDT",
                "PERPETUAL",
                "USDT",
            )
            assert (btc["pricePrecision"], btc["quantityPrecision"]) == (2, 3)
            f = by_type(btc)
            assert (f["PRICE_FILTER"]["tickSize"], f["LOT_SIZE"]["stepSize"]) == ("0.10", "0.001")
            assert f["MIN_NOTIONAL"]["notional"] == "100"

    asyncio.run(go())


def test_filters_enforced_and_limit_maker() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            v: Any = sim.venue("binance")
            v.add_key(ApiKey("k", secret=SECRET.encode()))
            rest, key = sim.urls()["binance"][0]["rest"], {"X-MBX-APIKEY": "k"}
            bid = sim.book("binance", "BTCUSDT", 1).bids[0][0]
            ask = sim.book("binance", "BTCUSDT", 1).asks[0][0]

            async def place(**p: str) -> tuple[int, dict[str, Any]]:
                order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", **p}
                order["timestamp"] = str(int(time.time() * 1000))
                s, _, body = await http("POST", rest + "/api/v3/order?" + sign(order), headers=key)
                return s, orjson.loads(body)

            cases = {
                "PRICE_FILTER": {"quantity": "0.001", "price": str(bid - 1) + "5"},  # off the tick
                "LOT_SIZE": {"quantity": "0.000015", "price": str(bid - 1)},  # off the step
                "NOTIONAL": {"quantity": "0.00001", "price": str(bid - 1)},  # 0.6 USDT < 5
            }
            for name, p in cases.items():
                assert await place(**p) == (400, {"code": -1013, "msg": f"Filter failure: {name}"})
            big = {"type": "MARKET", "quantity": "9000.00001"}
            assert (await place(**big))[1] == {"code": -1013, "msg": "Filter failure: MARKET_LOT_SIZE"}
            assert (await place(quantity="9000.00001", price=str(bid - 1)))[1][
                "msg"
            ] == "Filter failure: LOT_SIZE"
            assert v.engine.orders == {}  # nothing refused reached the book
            # LIMIT_MAKER: no timeInForce; rests if it would not take, else -2010 and no order.
            cross = {"type": "LIMIT_MAKER", "quantity": "0.001", "price": str(ask)}
            assert await place(**cross) == (
                400,
                {"code": -2010, "msg": "Order would immediately match and take."},
            )
            assert v.engine.orders == {}
            s, made = await place(type="LIMIT_MAKER", quantity="0.001", price=str(bid), newClientOrderId="mk")
            assert s == 200 and made["type"] == "LIMIT_MAKER" and made["status"] == "NEW"
            (o,) = v.engine.orders.values()
            assert o.client_id == "mk" and o.post_only and o.open
            assert dict(sim.book("binance", "BTCUSDT").bids)[bid] >= Decimal("0.001")

    asyncio.run(go())


def test_ccxt_loads_markets_places_and_cancels() -> None:
    ccxt = pytest.importorskip("ccxt.async_support")

    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            v: Any = sim.venue("binance")
            v.add_key(ApiKey("ccxt-key", secret=SECRET.encode()))
            rest = sim.urls()["binance"][0]["rest"]
            ex = ccxt.binance({"apiKey": "ccxt-key", "secret": SECRET, "enableRateLimit": False})
            ex.options["fetchMarkets"] = {"types": ["spot"]}
            ex.options["fetchCurrencies"] = ex.options["fetchMargins"] = False
            ex.urls["api"]["public"] = ex.urls["api"]["private"] = rest + "/api/v3"
            try:
                markets = await ex.load_markets()
                m = markets["BTC/USDT"]
                inst = v.instruments["BTCUSDT"]
                assert Decimal(str(m["precision"]["price"])) == inst.tick
                assert Decimal(str(m["limits"]["amount"]["min"])) == inst.min_qty
                assert Decimal(str(m["limits"]["cost"]["min"])) == inst.min_notional
                bid = sim.book("binance", "BTCUSDT", 1).bids[0][0]
                order = await ex.create_order("BTC/USDT", "limit", "buy", 0.001, float(bid - 10))
                placed = v.engine.orders[int(order["id"])]
                assert placed.open and order["status"] == "open"
                await ex.cancel_order(order["id"], "BTC/USDT")
                assert placed.status == "CANCELED"
            finally:
                await ex.close()

    asyncio.run(go())


def test_a_status_set_shows_in_exchange_info_in_binances_words_and_only_where_modelled() -> None:
    """``Simulator.set_status``: exchangeInfo's ``status`` in Binance's words (enums.md: CANCEL_ONLY
    since 2026-07-07, HALT), TRADING again once open; a venue whose list shows no status refuses it
    (a test meaning to close a market would run on an open one)."""

    async def go() -> None:
        async with Simulator(["binance", "bitfinex"], rate=0, depth=10) as sim:
            base = sim.urls()["binance"][0]["rest"]

            async def status() -> str:
                info = await get_json(base + "/api/v3/exchangeInfo?symbol=BTCUSDT")
                return str(info["symbols"][0]["status"])

            for set_to, word in (("cancel_only", "CANCEL_ONLY"), ("closed", "HALT"), ("open", "TRADING")):
                sim.set_status("binance", "BTCUSDT", set_to)
                assert await status() == word
            with pytest.raises(ValueError, match="no trading status"):
                sim.set_status("bitfinex", "tBTCUSD", "closed")
            with pytest.raises(ValueError):
                sim.set_status("binance", "BTCUSDT", "halted")

    asyncio.run(go())
