"""Balances, margin and positions: a funded account's orders are checked against what it holds; fills
move exactly the traded amounts (computed here from the ground-truth book, not the ledger's code);
margin positions realise profit and loss when they close; each venue refuses with its own code."""

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
from claro import Claro
from simclient import http
from tickwire.sim import ApiKey, Simulator
from tickwire.sim.engine import CANCELED, FILLED, NEW, Engine, EngineError
from tickwire.sim.market import ASK, BID, BookProcess, Instrument

INST = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.00001"), Decimal("60000"), depth=30, unit=10)
D = Decimal


def value(ticks: int, lots: int) -> Decimal:
    return INST.tick * ticks * INST.lot * lots


def test_unfunded_accounts_trade_without_limits() -> None:
    engine = Engine({"BTCUSDT": BookProcess(INST, 1)})
    o, _ = engine.place("a", "BTCUSDT", BID, "MARKET", 10**6, None, "IOC", "", 0)
    assert o.filled > 0 and engine.ledger.holdings("a") == []


def test_cash_account_locks_settles_and_refuses() -> None:
    book = BookProcess(INST, 2)
    engine = Engine({"BTCUSDT": book})
    led = engine.ledger
    led.fund("a", {"USDT": "1000"})
    bid = book.bids.best()
    assert bid is not None
    # 1000 USDT buys at most 1000 / price BTC: one lot more than that is refused before the book.
    afford = int(D(1000) / (INST.tick * bid) / INST.lot)
    before = book.view()
    with pytest.raises(EngineError) as e:
        engine.place("a", "BTCUSDT", BID, "LIMIT", afford + 1, bid, "GTC", "", 0)
    assert e.value.code == "funds" and book.view() == before and not engine.orders
    o, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", afford, bid, "GTC", "", 0)
    assert o.status == NEW
    assert led.holdings("a") == [("USDT", D(1000) - value(bid, afford), value(bid, afford))]
    engine.cancel("a", "BTCUSDT", o.id, None)
    assert led.holdings("a") == [("USDT", D(1000), D(0))]

    # A market buy walking two levels pays exactly what those levels cost.
    asks = book.asks.top(2)
    lots = asks[0][1] + asks[1][1] // 2
    cost = value(asks[0][0], asks[0][1]) + value(asks[1][0], asks[1][1] // 2)
    led.fund("a", {"USDT": cost})
    o, _ = engine.place("a", "BTCUSDT", BID, "MARKET", lots, None, "IOC", "", 0)
    assert o.status == FILLED
    assert dict((a, (f, lk)) for a, f, lk in led.holdings("a")) == {
        "USDT": (D(0), D(0)),
        "BTC": (INST.lot * lots, D(0)),
    }
    # Selling needs the base asset: one lot more than held is refused; all of it is fine.
    with pytest.raises(EngineError):
        engine.place("a", "BTCUSDT", ASK, "MARKET", lots + 1, None, "IOC", "", 0)
    top = book.bids.top(1)[0]
    sell, _ = engine.place("a", "BTCUSDT", ASK, "LIMIT", min(lots, top[1]), top[0], "IOC", "", 0)
    assert sell.status == FILLED
    usdt = dict((a, f) for a, f, _ in led.holdings("a"))["USDT"]
    assert usdt == value(top[0], min(lots, top[1]))


def test_margin_account_leverage_reduce_and_realised_pnl() -> None:
    book = BookProcess(INST, 3)
    engine = Engine({"BTCUSDT": book}, leverage=D(10))
    led = engine.ledger
    led.fund("m", {"USDT": "100"})
    ask = book.asks.best()
    assert ask is not None
    # 100 USDT at 10x: 1000 USDT of notional.
    afford = int(D(1000) / (INST.tick * ask) / INST.lot)
    with pytest.raises(EngineError):
        engine.place("m", "BTCUSDT", BID, "LIMIT", afford + 1, ask - 1000, "GTC", "", 0)
    entry = book.asks.top(1)[0]
    lots = min(entry[1], afford // 2)
    o, _ = engine.place("m", "BTCUSDT", BID, "LIMIT", lots, entry[0], "IOC", "", 0)
    assert o.status == FILLED and led.position("m", "BTCUSDT").lots == lots
    assert led.margin_used("m") == value(entry[0], lots) / 10
    # Reducing a position needs no margin even when none is free.
    led.fund("m", {"USDT": value(entry[0], lots) / 10})
    assert led.margin_free("m", "USDT") == 0
    exit_ = book.bids.top(1)[0]
    closing = min(lots, exit_[1])
    o, _ = engine.place("m", "BTCUSDT", ASK, "LIMIT", closing, exit_[0], "IOC", "", 0)
    assert o.filled == closing
    pnl = value(exit_[0], closing) - value(entry[0], closing)  # long: exit minus entry
    assert led.realized["m"] == pnl
    assert dict((a, f + lk) for a, f, lk in led.holdings("m"))["USDT"] == value(entry[0], lots) / 10 + pnl


def test_amend_keeps_locks_consistent() -> None:
    book = BookProcess(INST, 4)
    engine = Engine({"BTCUSDT": book})
    engine.ledger.fund("a", {"USDT": "500"})
    bid = book.bids.best()
    assert bid is not None
    o, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 100, bid - 100, "GTC", "", 0)
    engine.amend("a", "BTCUSDT", o.id, None, 50, bid - 200)
    assert engine.ledger.holdings("a") == [("USDT", D(500) - value(bid - 200, 50), value(bid - 200, 50))]
    o2, _ = engine.cancel("a", "BTCUSDT", o.id, None)
    assert o2.status == CANCELED and engine.ledger.holdings("a") == [("USDT", D(500), D(0))]


def test_an_amended_cash_order_on_a_venue_with_leverage_stays_a_cash_order() -> None:
    """Bybit's simulator trades spot (cash) and linear (margin) on one engine with leverage; an
    amended spot order must stay spot. Before 2026-12-06 the amend rebuilt it as a margin order (the
    venue's default), so the Bybit simulator pushed it as category ``linear`` and a spot client never
    heard its state or fills again."""
    book = BookProcess(INST, 4)
    engine = Engine({"BTCUSDT": book}, leverage=D(10))
    engine.ledger.fund("a", {"USDT": "500"})
    bid = book.bids.best()
    assert bid is not None
    o, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 100, bid - 100, "GTC", "c1", 0, margin=False)
    assert not o.margin
    amended, _ = engine.amend("a", "BTCUSDT", o.id, None, 150, bid - 200)
    assert (amended.id, amended.qty, amended.price, amended.margin) == (o.id, 150, bid - 200, False)
    m, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 100, bid - 100, "GTC", "c2", 0, margin=True)
    assert engine.amend("a", "BTCUSDT", m.id, None, 150, bid - 300)[0].margin


SECRET = "acct-secret"


def test_binance_rest_insufficient_balance_and_account() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=10, symbols={"binance": ["BTCUSDT"]}) as sim:
            sim.venue("binance").add_key(ApiKey("ak", secret=SECRET.encode()))  # type: ignore[attr-defined]
            sim.fund("binance", "ak", {"USDT": "10"})
            base = sim.urls()["binance"][0]["rest"]

            async def signed(method: str, path: str, **params: Any) -> tuple[int, Any]:
                q = urlencode({**params, "timestamp": int(time.time() * 1000)})
                sig = hmac.new(SECRET.encode(), q.encode(), hashlib.sha256).hexdigest()
                status, _, body = await http(
                    method, f"{base}{path}?{q}&signature={sig}", headers={"X-MBX-APIKEY": "ak"}
                )
                return status, orjson.loads(body)

            s, err = await signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                  timeInForce="GTC", quantity="0.001", price="50000.00")  # fmt: skip
            assert (s, err["code"]) == (400, -2010) and "insufficient balance" in err["msg"]
            s, ok = await signed("POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                                 timeInForce="GTC", quantity="0.0001", price="50000.00")  # fmt: skip
            assert s == 200 and ok["status"] == "NEW"
            s, acct = await signed("GET", "/api/v3/account")
            assert acct["balances"] == [{"asset": "USDT", "free": "5.00000000", "locked": "5.00000000"}]

    asyncio.run(go())


def test_clarofinlore_insufficient_margin_is_1001() -> None:
    async def go() -> None:
        async with Simulator(["clarofinlore"], rate=0, depth=10) as sim:
            claro = await Claro.funded(sim, SECRET, "100")
            # 100 USDT at 10x: 0.02 BTC at ~60000 is 1200 of notional, too much; 0.01 fits.
            for qty, want in (("0.02000", 1001), ("0.01000", None)):
                order = {"symbol": "btc-usdt", "side": "buy", "type": "market", "quantity": qty}
                status, got = await claro.call("POST", "/v1/orders", {**order, "client_order_id": f"m-{qty}"})
                assert got.get("code") == want and (status == 200) == (want is None), got
            _, acct = await claro.call("GET", "/v1/account")
            used = D(acct["margin_used"])
            entry = D(acct["positions"][0]["entry_price"])
            assert used == entry * D("0.01") / 10 and D(acct["available_margin"]) == 100 - used

    asyncio.run(go())


def test_an_amend_the_account_cannot_pay_for_leaves_the_order_alone() -> None:
    book = BookProcess(INST, 5)
    engine = Engine({"BTCUSDT": book})
    engine.ledger.fund("a", {"USDT": "100"})
    bid = book.bids.best()
    assert bid is not None
    o, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 100, bid - 100, "GTC", "keep", 0)
    before = book.view()
    with pytest.raises(EngineError) as e:
        engine.amend("a", "BTCUSDT", o.id, None, 10**6, None)
    assert e.value.code == "funds" and engine.orders[o.id] is o and o.open and book.view() == before
    assert engine.ledger.holdings("a") == [("USDT", D(100) - value(bid - 100, 100), value(bid - 100, 100))]


def test_control_endpoint_funds_an_account() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=5) as sim:
            control = sim.urls()["control"]
            body = orjson.dumps({"venue": "binance", "account": "ak", "balances": {"USDT": "12.5"}})
            status, _, _ = await http("POST", control + "/fund", body)
            assert status == 200
            assert sim.venue("binance").engine.ledger.holdings("ak") == [("USDT", D("12.5"), D(0))]
            bad = orjson.dumps({"venue": "binance", "account": "ak"})
            assert (await http("POST", control + "/fund", bad))[0] == 400

    asyncio.run(go())


def test_control_endpoint_lists_an_accounts_orders_and_balances() -> None:
    async def go() -> None:
        async with Simulator(["binance"], rate=0, depth=5) as sim:
            control = sim.urls()["control"]
            engine = sim.venue("binance").engine
            inst = sim.venue("binance").instruments["BTCUSDT"]
            sim.fund("binance", "ak", {"USDT": "100000", "BTC": "1"})
            bid, ask = engine.books["BTCUSDT"].bids.best(), engine.books["BTCUSDT"].asks.best()
            assert bid is not None and ask is not None
            rest, _ = engine.place("ak", "BTCUSDT", BID, "LIMIT", 100, bid - 5, "GTC", "r1", 0)
            take, _ = engine.place("ak", "BTCUSDT", ASK, "LIMIT", 20, bid, "IOC", "t1", 0)
            engine.place("other", "BTCUSDT", BID, "LIMIT", 100, bid - 6, "GTC", "o1", 0)
            status, _, body = await http("GET", control + "/orders?venue=binance&account=ak")
            assert status == 200
            got = {o["client_id"]: o for o in orjson.loads(body)}
            assert set(got) == {"r1", "t1"}  # not the other account's
            assert got["r1"]["status"] == NEW and got["r1"]["side"] == "buy" and got["r1"]["fills"] == []
            assert D(got["r1"]["price"]) == inst.price(bid - 5) and D(got["r1"]["qty"]) == inst.qty(100)
            assert got["t1"]["side"] == "sell" and D(got["t1"]["filled"]) == inst.qty(take.filled) > 0
            assert [(f["trade_id"], D(f["price"]), D(f["qty"])) for f in got["t1"]["fills"]] == [
                (f.trade_id, inst.price(f.price), inst.qty(f.qty)) for f in take.fills
            ]
            status, _, body = await http("GET", control + "/account?venue=binance&account=ak")
            want = {a: {"free": str(f), "locked": str(lk)} for a, f, lk in engine.ledger.holdings("ak")}
            assert status == 200 and orjson.loads(body) == {"balances": want}
            assert D(want["USDT"]["locked"]) == inst.price(bid - 5) * inst.qty(100) and rest.open

    asyncio.run(go())
