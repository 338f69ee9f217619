"""``Simulator.set_grid``: a symbol's tick, lot or minimum size changed under running clients — the
venue's instrument list shows the grid in force (OKX also the announced one, in ``upcChg``, until its
``effTime``), its order entry refuses an order off it with the venue's own code and takes one on it;
a venue that cannot do so here refuses the call."""

from __future__ import annotations

import asyncio
import time
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import orjson
import pytest
import tickwire
from simbook import Recorder, assert_books_match, eventually
from simclient import get_json, http
from test_sim_engine import SECRET, sign
from test_sim_okx_auth import SECRET as OKX_SECRET
from test_sim_okx_trade import rest_client
from tickwire.sim import ApiKey, Simulator


def test_binance_lists_and_enforces_a_changed_grid() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10) as sim:
            v: Any = sim.venue("binance")
            v.add_key(ApiKey("k", secret=SECRET.encode()))
            rest, key = sim.urls()["binance"][0]["rest"], {"X-MBX-APIKEY": "k"}

            async def filters() -> dict[str, dict[str, Any]]:
                info = await get_json(rest + "/api/v3/exchangeInfo?symbol=BTCUSDT")
                return {f["filterType"]: f for f in info["symbols"][0]["filters"]}

            async def place(**p: str) -> tuple[int, dict[str, Any]]:
                order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", **p}
                order["timestamp"] = str(int(time.time() * 1000))
                s, _, body = await http("POST", rest + "/api/v3/order?" + sign(order), headers=key)
                return s, orjson.loads(body)

            base = (sim.book("binance", "BTCUSDT", 1).bids[0][0] - 10).quantize(Decimal("0.1"), ROUND_FLOOR)
            assert Decimal((await filters())["PRICE_FILTER"]["tickSize"]) == Decimal("0.01")
            sim.set_grid("binance", "BTCUSDT", tick="0.05", lot="0.0001")
            f = await filters()
            assert Decimal(f["PRICE_FILTER"]["tickSize"]) == Decimal("0.05")
            assert (
                Decimal(f["LOT_SIZE"]["stepSize"])
                == Decimal(f["MARKET_LOT_SIZE"]["stepSize"])
                == Decimal("0.0001")
            )
            off_tick = {"quantity": "0.001", "price": str(base - Decimal("0.01"))}
            assert await place(**off_tick) == (400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"})
            off_lot = {"quantity": "0.00105", "price": str(base)}
            assert await place(**off_lot) == (400, {"code": -1013, "msg": "Filter failure: LOT_SIZE"})
            market = {"type": "MARKET", "quantity": "0.00105"}
            assert (await place(**market))[1] == {"code": -1013, "msg": "Filter failure: MARKET_LOT_SIZE"}
            assert v.engine.orders == {}  # nothing refused reached the book
            status, body = await place(quantity="0.001", price=str(base - Decimal("0.05")))
            assert status == 200 and [o.id for o in v.engine.orders.values()] == [body["orderId"]]

    asyncio.run(go())


def test_okx_lists_an_announced_change_until_its_time_then_enforces_it() -> None:
    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=10) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", OKX_SECRET, "pp")
            call = rest_client(sim.urls()["okx"][0]["rest"])
            url = sim.urls()["okx"][0]["rest"] + "/api/v5/public/instruments?instType=SPOT&instId=BTC-USDT"
            [btc] = (await get_json(url))["data"]
            assert btc["upcChg"] == [] and btc["tickSz"] == "0.1"
            eff = sim.endpoint("okx").now_ms() + 600
            sim.set_grid("okx", "BTC-USDT", tick="0.2", min_qty="0.0002", at_ms=eff)
            [btc] = (await get_json(url))["data"]
            assert (btc["tickSz"], btc["minSz"]) == ("0.1", "0.00001")  # still the grid in force
            assert sorted(btc["upcChg"], key=lambda c: c["param"]) == [
                {"param": "minSz", "newValue": "0.0002", "effTime": str(eff)},
                {"param": "tickSz", "newValue": "0.2", "effTime": str(eff)},
            ]
            base = (sim.book("okx", "BTC-USDT", 1).bids[0][0] - 10).quantize(Decimal(1), ROUND_FLOOR)
            o = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.0001"}
            early = await call("POST", "/api/v5/trade/order", {**o, "px": str(base - Decimal("0.1"))})
            assert early["code"] == "0"  # the old tick, before its time: taken
            while sim.endpoint("okx").now_ms() < eff:
                await asyncio.sleep(0.05)
            [btc] = (await get_json(url))["data"]
            assert (btc["tickSz"], btc["minSz"], btc["upcChg"]) == ("0.2", "0.0002", [])
            for over, code in (
                ({"px": str(base - Decimal("0.1"))}, "51000"),  # off the new tick
                ({"px": str(base), "sz": "0.00011"}, "51020"),  # under the new minSz
            ):
                got = await call("POST", "/api/v5/trade/order", {**o, **over})
                assert got["code"] == "1" and got["data"][0]["sCode"] == code, got
            amend = {
                "instId": "BTC-USDT",
                "ordId": early["data"][0]["ordId"],
                "newPx": str(base - Decimal("0.3")),
            }
            got = await call("POST", "/api/v5/trade/amend-order", amend)
            assert got["data"][0]["sCode"] == "51000"
            assert len(v.engine.orders) == 1
            got = await call(
                "POST", "/api/v5/trade/order", {**o, "sz": "0.0002", "px": str(base - Decimal("0.2"))}
            )
            assert got["code"] == "0" and len(v.engine.orders) == 2

    asyncio.run(go())


def test_okx_refuses_a_lot_size_change_off_the_lot_and_a_change_announced_it_never_announces() -> None:
    async def go() -> None:
        async with Simulator(["okx", "binance", "bitfinex"], rate=0, depth=10) as sim:
            v: Any = sim.venue("okx")
            v.add_key("ok-key", OKX_SECRET, "pp")
            call = rest_client(sim.urls()["okx"][0]["rest"])
            sim.set_grid("okx", "BTC-USDT", lot="0.00000005")
            bid = sim.book("okx", "BTC-USDT", 1).bids[0][0]
            o = {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "px": str(bid - 10),
            }
            got = await call("POST", "/api/v5/trade/order", {**o, "sz": "0.00010002"})
            assert got["data"][0]["sCode"] == "51121" and v.engine.orders == {}
            with pytest.raises(ValueError, match="announces no lot"):  # upcChg names tickSz, minSz, maxMktSz
                sim.set_grid("okx", "BTC-USDT", lot="0.0000001", at_ms=1)
            with pytest.raises(ValueError, match="announces no tick"):
                sim.set_grid("binance", "BTCUSDT", tick="0.05", at_ms=1)
            with pytest.raises(ValueError, match="not a multiple"):  # the book moves on 0.1
                sim.set_grid("okx", "BTC-USDT", tick="0.15")
            with pytest.raises(ValueError, match="cannot change a grid"):
                sim.set_grid("bitfinex", "tBTCUSD", tick="1")
            with pytest.raises(ValueError, match="no symbol"):
                sim.set_grid("okx", "NOPE-USDT", tick="1")

    asyncio.run(go())


def test_set_grid_refuses_a_minimum_below_the_engines_own() -> None:
    """ETH-USDT's own minimum is 0.0001: a listed minSz of 0.00005 would be an order the list allows
    and the order entry refuses (51020, a grid refusal: read again, the same list). Refused, nothing
    changed. Before (review of this stop): listed, and the order at it refused 51020."""

    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=10) as sim:
            url = sim.urls()["okx"][0]["rest"] + "/api/v5/public/instruments?instType=SPOT&instId=ETH-USDT"
            with pytest.raises(ValueError, match="below the simulator's own minimum"):
                sim.set_grid("okx", "ETH-USDT", min_qty="0.00005")
            [eth] = (await get_json(url))["data"]
            assert Decimal(eth["minSz"]) == Decimal("0.0001") and eth["upcChg"] == []

    asyncio.run(go())


def test_set_grid_refuses_an_effect_time_that_is_no_time() -> None:
    """A time that is not Unix ms is refused before anything is stored (before: stored, and from then
    on the symbol's list and order entry answered HTTP 500, a ``TypeError`` comparing it)."""

    async def go() -> None:
        async with Simulator(["okx"], rate=0, depth=10) as sim:
            url = sim.urls()["okx"][0]["rest"] + "/api/v5/public/instruments?instType=SPOT&instId=BTC-USDT"
            with pytest.raises(ValueError):
                sim.set_grid("okx", "BTC-USDT", tick="0.2", at_ms="soon")  # type: ignore[arg-type]
            [btc] = (await get_json(url))["data"]  # the list still answers, unchanged
            assert btc["tickSz"] == "0.1" and btc["upcChg"] == []

    asyncio.run(go())


def test_set_grid_refuses_a_value_the_venue_does_not_list_or_lists_in_decimal_places() -> None:
    """Bybit spot lists a ``minOrderQty`` it no longer checks and Kraken its step as ``lot_decimals``:
    neither can be changed. HTX lists tick and step as decimal places: only a power of ten. Nothing
    is stored by a refused call (the lists show the simulator's own grid)."""

    async def go() -> None:
        async with Simulator(["bybit", "kraken", "htx"], rate=0, depth=10) as sim:
            with pytest.raises(ValueError, match="no min_qty"):
                sim.set_grid("bybit", "BTCUSDT", tick="0.02", min_qty="0.001")
            with pytest.raises(ValueError, match="no lot"):
                sim.set_grid("kraken", "BTC/USD", lot="0.0001")
            with pytest.raises(ValueError, match="not a power of ten"):
                sim.set_grid("htx", "btcusdt", tick="0.05")
            with pytest.raises(ValueError, match="not a power of ten"):
                sim.set_grid("htx", "btcusdt", lot="0.000002")
            for venue in ("bybit", "kraken", "htx"):
                assert not sim.venue(venue).grids._changes, venue
            sim.set_grid("htx", "btcusdt", tick="0.1", lot="0.0001")
            rest = sim.urls()["htx"][0]["rest"]
            [btc] = [
                s for s in (await get_json(rest + "/v1/common/symbols"))["data"] if s["symbol"] == "btcusdt"
            ]
            assert (btc["price-precision"], btc["amount-precision"]) == (1, 4)

    asyncio.run(go())


def test_htx_lists_the_precision_it_enforces_whatever_the_spelling_of_a_power_of_ten() -> None:
    """HTX lists tick and step as decimal places: a power of ten spelt with trailing zeros ("0.10",
    "0.00010") is the tick or step it is (0.1, 0.0001) in the list as in the order entry, and one
    above 1 ("10", "1E+1"), which no count of decimal places shows, is refused. Before, "0.10" was
    listed as price-precision 2 (0.01) while the order entry refused prices off 0.1, and "10" as 0
    (a tick of 1) while it refused prices off 10."""

    async def go() -> None:
        async with Simulator(["htx"], rate=0, depth=10) as sim:
            rest = sim.urls()["htx"][0]["rest"]
            v: Any = sim.venue("htx")

            async def listed() -> tuple[Decimal, Decimal]:
                data = (await get_json(rest + "/v1/common/symbols"))["data"]
                [btc] = [s for s in data if s["symbol"] == "btcusdt"]
                return Decimal(1).scaleb(-btc["price-precision"]), Decimal(1).scaleb(-btc["amount-precision"])

            for kw in ({"tick": "0.10"}, {"lot": "0.00010"}):
                sim.set_grid("htx", "btcusdt", **kw)
                enforced = v.grids.listed("btcusdt", int(time.time() * 1000))
                assert await listed() == (enforced.tick, enforced.lot), kw
            for tick in ("10", "1E+1"):
                with pytest.raises(ValueError, match="not a power of ten"):
                    sim.set_grid("htx", "btcusdt", tick=tick)

    asyncio.run(go())


def test_a_kraken_tick_change_leaves_the_checksum_precision_listed_as_the_feed_computes_it() -> None:
    """The tick moved from the simulator's 0.1 to 1 before a market-data session starts: the session
    reads ``AssetPairs`` for its checksum decimals, and its book stays in sync with the simulator's
    (before: ``pair_decimals`` was listed 0, the session checked every update's checksum at 0 decimals
    against the simulator's, computed at 1, and the book went out of sync on each)."""

    async def go() -> None:
        symbol = "BTC/USD"
        async with Simulator(["kraken"], seed=3, rate=0, depth=25, symbols={"kraken": [symbol]}) as sim:
            sim.set_grid("kraken", symbol, tick="1")
            rec = Recorder()
            async with tickwire.connect(
                "kraken", [symbol], endpoints=sim.urls()["kraken"], on_status=rec, probe_interval=None,
                clock_sync=None,
            ) as md:  # fmt: skip
                await eventually(lambda: md.is_synced(symbol), timeout=3.0, what="synced")
                for _ in range(40):
                    sim.advance(1, "kraken", symbol)
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.2)
                assert not rec.kinds("out_of_sync", symbol), rec.kinds("out_of_sync", symbol)[:2]
                await assert_books_match(md, sim, "kraken", [symbol], depth=10)

    asyncio.run(go())
