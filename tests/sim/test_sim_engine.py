"""The matching engine and Binance spot order entry: fills against the ground-truth book, resting
orders in the public book, queue position behind existing size, IOC/FOK/MARKET, and market data that
stays consistent (the official sync still rebuilds the book exactly)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
from simclient import connect, get_json, http, settle
from tickwire.sim import ApiKey, Simulator
from tickwire.sim.engine import EXPIRED, FILLED, NEW, Engine
from tickwire.sim.market import ASK, BID, BookProcess, Instrument

SECRET = "engine-test-secret"
INST = Instrument("BTCUSDT", Decimal("0.01"), Decimal("0.00001"), Decimal("60000"), depth=30, unit=10)


def test_aggressive_order_walks_the_book() -> None:
    book = BookProcess(INST, 1)
    engine = Engine({"BTCUSDT": book})
    asks = book.asks.top(3)
    want = asks[0][1] + asks[1][1] + 1  # two levels and one lot of the third
    order, step = engine.place("a", "BTCUSDT", BID, "LIMIT", want, asks[2][0], "GTC", "", 0)
    assert order.status == FILLED and order.filled == want
    assert [(f.price, f.qty) for f in order.fills] == [asks[0], asks[1], (asks[2][0], 1)]
    assert step is not None and [t.price for t in step.trades] == [asks[0][0], asks[1][0], asks[2][0]]
    assert book.asks.top(1) == [(asks[2][0], asks[2][1] - 1)]


def test_ioc_fok_market() -> None:
    book = BookProcess(INST, 2)
    engine = Engine({"BTCUSDT": book})
    best = book.bids.top(1)[0]
    o, _ = engine.place("a", "BTCUSDT", ASK, "LIMIT", best[1] + 5, best[0], "IOC", "", 0)
    assert o.status == EXPIRED and o.filled == best[1]  # remainder expires, nothing rests
    assert book.bids.best() != best[0]
    before = book.view()
    o, step = engine.place("a", "BTCUSDT", ASK, "LIMIT", 10**9, book.bids.best() or 0, "FOK", "", 0)
    assert o.status == EXPIRED and o.filled == 0 and step is None and book.view() == before
    o, _ = engine.place("a", "BTCUSDT", BID, "MARKET", 3, None, "", "", 0)
    assert o.status == FILLED and o.fills[0].price == before.asks[0][0] / INST.tick


def test_resting_order_keeps_its_size_and_fills_behind_the_queue() -> None:
    book = BookProcess(INST, 3)
    engine = Engine({"BTCUSDT": book})
    price = book.bids.best()
    assert price is not None
    ahead = book.bids.levels[price]
    o, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 50, price, "GTC", "", 0)
    assert o.status == NEW and book.bids.levels[price] == ahead + 50
    traded_at_price = 0
    for _ in range(5000):
        s = book.step()
        engine.after_step("BTCUSDT", s)
        traded_at_price += sum(t.qty for t in s.trades if t.price == price and t.buyer_maker)
        if o.open:
            assert book.bids.levels.get(price, 0) >= o.qty - o.filled  # never cancelled by others
        if o.status == FILLED:
            break
    assert o.status == FILLED
    # It filled only after the size ahead of it had traded (cancels ahead may have helped).
    assert traded_at_price >= 50
    assert all(f.maker and f.price == price for f in o.fills)


def sign(params: dict[str, Any]) -> str:
    q = urlencode(params)
    return q + "&signature=" + hmac.new(SECRET.encode(), q.encode(), hashlib.sha256).hexdigest()


def test_rest_order_lifecycle_and_consistent_market_data() -> None:
    async def go() -> None:
        async with Simulator(["binance"], seed=8, rate=0, depth=20) as sim:
            sim.venue("binance").add_key(ApiKey("tk", secret=SECRET.encode()))  # type: ignore[attr-defined]
            base = sim.urls()["binance"][0]["rest"]
            c = await connect(sim.urls()["binance"][0]["ws"]["ws"] + "/btcusdt@depth/btcusdt@trade")
            hdr = {"X-MBX-APIKEY": "tk", "Content-Type": "application/x-www-form-urlencoded"}

            async def call(method: str, path: str, **p: Any) -> tuple[int, Any]:
                p["timestamp"] = int(time.time() * 1000)
                if method == "POST":
                    status, _, body = await http(method, base + path, sign(p).encode(), hdr)
                else:
                    status, _, body = await http(method, f"{base}{path}?{sign(p)}", headers=hdr)
                return status, orjson.loads(body)

            snap = await get_json(base + "/api/v3/depth?symbol=BTCUSDT&limit=100")
            bids = {Decimal(p): Decimal(q) for p, q in snap["bids"]}
            asks = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
            book_id = snap["lastUpdateId"]
            best_ask, best_ask_qty = Decimal(snap["asks"][0][0]), Decimal(snap["asks"][0][1])
            s, o = await call(
                "POST",
                "/api/v3/order",
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity=str(best_ask_qty),
                price=str(best_ask),
                newClientOrderId="c1",
            )
            assert s == 200 and o["status"] == "FILLED" and o["fills"][0]["price"] == snap["asks"][0][0]
            s, dup = await call(
                "POST",
                "/api/v3/order",
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.00010",
                price="50000.00",
                newClientOrderId="r1",
            )
            assert s == 200 and dup["status"] == "NEW"
            s, again = await call(
                "POST",
                "/api/v3/order",
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.00010",
                price="50000.00",
                newClientOrderId="r1",
            )
            assert again["code"] == -2010  # idempotency: the retried id is refused
            s, bad = await call(
                "POST",
                "/api/v3/order",
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.00010",
                price="50000.001",
            )
            assert bad["code"] == -1013
            s, opened = await call("GET", "/api/v3/openOrders", symbol="BTCUSDT")
            assert [x["clientOrderId"] for x in opened] == ["r1"]
            s, got = await call("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="r1")
            assert got["status"] == "NEW" and got["isWorking"] is True
            s, cancelled = await call(
                "DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=str(dup["orderId"])
            )
            assert cancelled["status"] == "CANCELED"
            s, gone = await call("DELETE", "/api/v3/order", symbol="BTCUSDT", orderId=str(dup["orderId"]))
            assert gone["code"] == -2011
            sim.advance(50, "binance", "BTCUSDT")
            await settle()
            trades = []
            for m in c.drain():
                if m["e"] == "trade":
                    trades.append(m)
                    continue
                if m["u"] <= book_id:
                    continue
                assert m["U"] == book_id + 1
                for side, levels in ((bids, m["b"]), (asks, m["a"])):
                    for p, q in levels:
                        if Decimal(q) == 0:
                            side.pop(Decimal(p), None)
                        else:
                            side[Decimal(p)] = Decimal(q)
                book_id = m["u"]
            truth = sim.book("binance", "BTCUSDT")
            assert sorted(bids.items(), reverse=True)[:10] == truth.bids[:10]
            assert sorted(asks.items())[:10] == truth.asks[:10]
            assert trades[0]["p"] == snap["asks"][0][0] and trades[0]["m"] is False  # our buy, taker

    asyncio.run(go())


def test_amend_keeps_the_order_and_moves_it_to_the_back() -> None:
    book = BookProcess(INST, 4)
    engine = Engine({"BTCUSDT": book})
    price = (book.bids.best() or 0) - 3
    before = book.bids.levels.get(price, 0)
    o, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 10, price, "GTC", "x1", 0)
    amended, steps = engine.amend("a", "BTCUSDT", None, "x1", 25, None)
    assert amended.id == o.id and amended.qty == 25 and book.bids.levels[price] == before + 25
    assert [s.changes[-1] for s in steps] == [(BID, price, before), (BID, price, before + 25)]
    ask = book.asks.best() or 0
    crossed, steps = engine.amend("a", "BTCUSDT", o.id, None, None, ask)  # now marketable: it trades
    assert crossed.id == o.id and crossed.filled > 0 and crossed.fills[0].price == ask
    assert book.bids.levels.get(price, 0) == before


def test_post_only_never_takes() -> None:
    book = BookProcess(INST, 5)
    engine = Engine({"BTCUSDT": book})
    view = book.view()
    o, step = engine.place("a", "BTCUSDT", BID, "LIMIT", 5, book.asks.best(), "GTC", "", 0, post_only=True)
    assert o.status == "CANCELED" and step is None and book.view() == view
    o, step = engine.place("a", "BTCUSDT", BID, "LIMIT", 5, book.bids.best(), "GTC", "", 0, post_only=True)
    assert o.status == NEW and step is not None


def test_order_events() -> None:
    book = BookProcess(INST, 6)
    engine = Engine({"BTCUSDT": book})
    events: list[tuple[int, str, int]] = []
    engine.listeners.append(lambda o, x, f: events.append((o.id, x, f.qty if f else 0)))
    asks = book.asks.top(2)
    taker, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", asks[0][1] + 1, asks[1][0], "GTC", "", 0)
    assert events == [(taker.id, "NEW", 0), (taker.id, "TRADE", asks[0][1]), (taker.id, "TRADE", 1)]
    events.clear()
    far = (book.bids.best() or 0) - 5
    rest, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 7, far, "GTC", "", 0)
    engine.amend("a", "BTCUSDT", rest.id, None, 9, None)
    engine.cancel("a", "BTCUSDT", rest.id, None)
    fok, _ = engine.place("a", "BTCUSDT", ASK, "LIMIT", 10**9, 1, "FOK", "", 0)
    assert events == [
        (rest.id, "NEW", 0),
        (rest.id, "REPLACED", 0),
        (rest.id, "CANCELED", 0),
        (fok.id, "NEW", 0),
        (fok.id, "EXPIRED", 0),
    ]
    events.clear()
    maker, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 5, book.bids.best(), "GTC", "", 0)
    for _ in range(5000):
        engine.after_step("BTCUSDT", book.step())
        if maker.status == "FILLED":
            break
    trades = [e for e in events if e[1] == "TRADE"]
    assert (
        maker.status == "FILLED"
        and sum(q for _, _, q in trades) == 5
        and all(i == maker.id for i, _, _ in trades)
    )


def test_no_self_match_and_never_a_crossed_book() -> None:
    book = BookProcess(INST, 7)
    engine = Engine({"BTCUSDT": book})
    bid = book.bids.best() or 0
    ask = book.asks.best() or 0
    if ask - bid < 2:  # make room inside the spread
        engine.place("a", "BTCUSDT", BID, "MARKET", book.asks.levels[ask], None, "IOC", "", 0)
        ask = book.asks.best() or 0
    mine, _ = engine.place("a", "BTCUSDT", ASK, "LIMIT", 5, ask - 1, "GTC", "", 0)  # improves the ask
    assert book.asks.best() == ask - 1
    # Only users' size is at ask-1: the buy cannot trade with it and must not rest across it.
    o, step = engine.place("b", "BTCUSDT", BID, "LIMIT", 3, ask - 1, "GTC", "", 0)
    assert o.status == "EXPIRED" and o.filled == 0 and step is None
    bb, ba = book.bids.best(), book.asks.best()
    assert bb is not None and ba is not None and bb < ba
    post, _ = engine.place("c", "BTCUSDT", BID, "LIMIT", 1, ask - 1, "GTC", "", 0, post_only=True)
    assert post.status == "CANCELED"
    assert mine.status == "NEW"


def test_shrinking_keeps_queue_priority_growing_loses_it() -> None:
    book = BookProcess(INST, 6)
    engine = Engine({"BTCUSDT": book})
    price = (book.bids.best() or 0) - 2
    before = book.bids.levels.get(price, 0)
    a, _ = engine.place("u", "BTCUSDT", BID, "LIMIT", 10, price, "GTC", "a", 0)
    b, _ = engine.place("u", "BTCUSDT", BID, "LIMIT", 10, price, "GTC", "b", 0)
    queue = engine.resting["BTCUSDT"][BID][price]
    same, steps = engine.amend("u", "BTCUSDT", a.id, None, 4, None)
    assert same is a and list(queue) == [a, b] and book.bids.levels[price] == before + 14
    assert [s.changes for s in steps] == [[(BID, price, before + 14)]]
    grown, _ = engine.amend("u", "BTCUSDT", a.id, None, 6, None)
    assert [o.client_id for o in engine.resting["BTCUSDT"][BID][price]] == ["b", "a"]
    assert grown.id == a.id and book.bids.levels[price] == before + 16


def test_two_resting_orders_filled_by_one_aggressor_are_two_trades() -> None:
    """Two accounts' orders resting at one price, both filled by the book's participants: each fill is
    its own match — its own trade id, a public trade of its size — as venues number them (one id per
    maker-taker match), the public trades at that price adding up to what traded there. Before, both
    fills carried the one trade's id (an account's fills listed by id then lost one of them)."""
    book = BookProcess(INST, 3)
    engine = Engine({"BTCUSDT": book})
    price = book.bids.best()
    assert price is not None
    o1, _ = engine.place("a", "BTCUSDT", BID, "LIMIT", 20, price, "GTC", "", 0)
    o2, _ = engine.place("b", "BTCUSDT", BID, "LIMIT", 20, price, "GTC", "", 0)
    seen: dict[int, int] = {}
    for _ in range(20000):
        s = book.step()
        engine.after_step("BTCUSDT", s)
        ids = [t.id for t in s.trades]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)  # one id per trade, in order
        for t in s.trades:
            if t.price == price and t.buyer_maker:
                seen[t.id] = t.qty
        if o1.filled and o2.filled and o2.status == FILLED:
            break
    assert o1.status == FILLED and o2.status == FILLED
    fills = [f for o in (o1, o2) for f in o.fills]
    ids = [f.trade_id for f in fills]
    assert len(set(ids)) == len(ids), ids  # no two matches share an id
    # Each maker fill is a public trade of at least its size at its price.
    assert all(f.trade_id in seen and seen[f.trade_id] >= f.qty for f in fills), (fills, seen)
