"""Quote rules (``tmpl.quote(md, ...)``) against the simulator's own order list: every order the rule
writes from the frame route is at the venue once, at the price the book it fired on gave, tracked
under its client id, never more than one in flight; the kill switch stops the rule before its cancels
go out; bad terms are refused before anything is armed. Unknown outcomes: ``test_quote_outcomes.py``."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from quote_cases import QTY, ioc, moves, run
from session_cases import settle
from template_cases import KEY, SECRET, SYMBOL, account, mantissas
from test_session_usdm import USDM
from tickwire.errors import InvalidOrder, NotSupported, TradingHalted
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.session import TradingSession
from tickwire.venues import binance


@pytest.mark.parametrize("transport", ["rest", "ws"])
def test_every_order_is_at_the_venue_once_at_the_price_its_book_gave(transport: str) -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 12)
        theirs = a.orders(sim)
        assert q.sent == len(theirs) >= 12 and q.error is None
        # At most one order was ever in flight: on_book (after the rule) saw the venue hold all but
        # the one just written.
        assert all(sent - held <= 1 for held, sent, _ in seen)
        # Each order at the bid the book had when it fired, minus 50 ticks (the simulator keeps
        # prices in ticks of 0.01 and quantities in lots of 0.00001: the template's mantissas).
        fired = {
            sent: bid - 50 for k, (_, sent, bid) in enumerate(seen) if sent > (seen[k - 1][1] if k else 0)
        }
        by_time = sorted(theirs, key=lambda o: o.id)
        assert [o.price for o in by_time] == [fired[k + 1] for k in range(len(by_time))]
        for o in by_time:
            mine = tr.tracker.get(o.client_id)
            assert mine is not None and mine.status == "expired" and mine.order_id == str(o.id)
            assert not o.open
            assert o.qty == QTY and mine.price == Decimal(o.price).scaleb(-2)
        log = [e[1] for e in sim.endpoint("binance", 0).exchanges]
        assert log.count("POST /api/v3/order") == (len(theirs) if transport == "rest" else 0)
        q.stop()
        sim.advance(3, "binance", SYMBOL)
        await asyncio.sleep(0.1)
        assert len(a.orders(sim)) == len(theirs) and tr.quotes == []

    run(body, transport=transport)


def test_change_sends_only_when_the_bid_moved() -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = tr.template(SYMBOL, "buy").quote(md, QTY, offset_ticks=-50)
        md.quotes.append(q)
        for _ in range(15):
            await settle(lambda: q.in_flight is None and q.rule.loaded, "the rule loaded again")
            sim.advance(1, "binance", SYMBOL)
            await asyncio.sleep(0.02)
        await settle(lambda: q.in_flight is None, "the last answer")
        prices = [o.price for o in sorted(a.orders(sim), key=lambda o: o.id)]
        assert prices and all(p != prices[k - 1] for k, p in enumerate(prices) if k)
        assert len(prices) == q.sent < len(seen)

    run(body)


def test_the_kill_switch_stops_the_rule_before_its_cancels() -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 3)
        resting = await a.rest_below(sim, tr, 60)
        assert a.open(sim) and resting.status == "new"
        await tr.kill("test")
        assert q.stopped and not q.rule.loaded and tr.quotes == []
        held = len(a.orders(sim))
        assert held == 4 and not a.open(sim)
        for _ in range(3):
            sim.advance(1, "binance", SYMBOL)
            await asyncio.sleep(0.03)
        assert len(a.orders(sim)) == held and q.sent == 3
        # The connection the rule held went back to the pool.
        assert tr.wire.http is not None and tr.wire.http.idle_connections >= 1

    run(body)


def test_after_a_key_rotation_the_rule_signs_with_the_new_key() -> None:
    key2, secret2 = "quote-key-2", "quote-secret-2"

    def both(v: Any) -> None:
        v.add_key(ApiKey(KEY, secret=SECRET.encode()))
        v.add_key(ApiKey(key2, secret=secret2.encode(), account=KEY))

    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 2)
        await tr.rotate(binance.Signer(key2, secret2))
        sim.venue("binance").keys.pop(KEY)  # the old key revoked: an order signed with it is refused
        await moves(sim, q, 2)
        theirs = a.orders(sim)
        assert len(theirs) == q.sent == 4 and q.error is None
        assert all(tr.tracker.get(o.client_id).status == "expired" for o in theirs)  # type: ignore[union-attr]

    run(body, register=both)


def test_bad_terms_are_refused_before_anything_is_armed() -> None:
    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        tmpl = tr.template(SYMBOL, "buy")
        for qty in (0, 3.5, 10**20):
            with pytest.raises(InvalidOrder):
                tmpl.quote(md, qty)  # type: ignore[arg-type]
        with pytest.raises(NotSupported):
            tr.template(SYMBOL, "buy", type="market").quote(md, QTY)
        with pytest.raises(NotSupported, match="market-data session"):
            tmpl.quote(object(), QTY)  # a threaded handle's books live on another loop
        assert tr.quotes == []
        sim.advance(2, "binance", SYMBOL)
        await asyncio.sleep(0.05)
        assert account().orders(sim) == []

    run(body)


def test_never_two_orders_in_flight_under_a_burst_of_ticks() -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 1)
        for _ in range(20):  # ticks faster than the answers: most find an order in flight
            sim.advance(1, "binance", SYMBOL)
            await asyncio.sleep(0)
        await asyncio.sleep(0.2)
        await settle(lambda: q.in_flight is None, "the last answer")
        assert len(seen) > 20 and q.sent < len(seen)  # ticks came while an order was in flight
        # After the rule fired (on_book runs after it) the venue held every order but that one.
        assert all(sent - held <= 1 for held, sent, _ in seen)
        assert len(a.orders(sim)) == q.sent

    run(body)


def test_a_refused_order_stops_the_rule_and_gives_its_connection_back() -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        http = tr.wire.http
        assert http is not None
        q = tr.template(SYMBOL, "buy", tif="IOC").quote(md, 1, when="every")  # 0.00001 BTC: under 5 USDT
        to = q._to
        assert to is not None and to.conn is not None and to.conn not in http._idle
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.stopped, "the refusal")
        assert isinstance(q.error, InvalidOrder) and q.sent == 0 and not a.orders(sim)
        assert to.conn in http._idle and to.conn.usable() and tr.quotes == []

    run(body)


def test_a_halted_session_refuses_a_rule() -> None:
    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        await tr.kill("test")
        with pytest.raises(TradingHalted):
            tr.template(SYMBOL, "buy").quote(md, QTY)
        assert tr.quotes == [] and len(md.quote_rules) == 0

    run(body)


def test_a_held_rule_loads_nothing_until_resumed() -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 1)
        q.pause()
        q.load()  # as an answer or the watch would: held, nothing loaded
        assert not q.rule.loaded
        sim.advance(2, "binance", SYMBOL)
        await asyncio.sleep(0.05)
        assert q.sent == 1 == len(a.orders(sim))
        q.resume()  # the two updates held back are priced once, on the book as it is now
        assert q.sent == 2 and not q.rule.missed
        await moves(sim, q, 1)
        assert q.sent == 3 == len(a.orders(sim))

    run(body)


def test_the_session_closing_stops_its_rules() -> None:
    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await tr.close()
        await asyncio.sleep(0)
        assert q.stopped and tr.quotes == [] and q._watch.done() and not q.rule.loaded

    run(body)


def test_on_book_may_stop_the_rule_that_just_fired() -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)

        def on_book(book: Any) -> None:  # runs inside the frame's call, after the rule fired
            if q.sent:
                q.stop()

        md.dispatcher.on_book = on_book
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.stopped, "the rule stopped from on_book")
        assert len(md.quote_rules) == 0 and tr.quotes == [] and q.error is None
        await settle(lambda: q.in_flight is None, "its order answered")
        for _ in range(3):
            sim.advance(1, "binance", SYMBOL)
            await asyncio.sleep(0.03)
        assert len(a.orders(sim)) == q.sent == 1

    run(body)


def test_updates_during_an_orders_flight_are_priced_once_when_its_answer_comes() -> None:
    """Without it the rule would quote the book of before the flight until the market moved again."""
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 1)
        ep = sim.endpoint("binance")
        ep.delay(0.2)  # the next order's answer comes 0.2 s late
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.sent == 2, "an order")
        fired = q.rule.last_price
        for _ in range(500):  # the market moves while it is in flight, until its bid did
            sim.advance(1, "binance", SYMBOL)
            if int(sim.book("binance", SYMBOL).bids[0][0] * 100) - 50 != fired:
                break
        last = sim.book("binance", SYMBOL).update_id
        await settle(lambda: md.book(SYMBOL).last_update_id == last, "the updates read")
        assert q.sent == 2 and q.in_flight is not None and q.rule.missed
        ep.delay(0)
        await settle(lambda: q.sent == 3, "the order caught up")  # no update since
        await settle(lambda: q.in_flight is None, "its answer")
        await asyncio.sleep(0.05)
        theirs = sorted(a.orders(sim), key=lambda o: o.id)
        assert len(theirs) == q.sent == 3 and q.error is None and not q.rule.missed
        bid = sim.book("binance", SYMBOL).bids[0][0]  # the book as it is now, and was at the answer
        assert theirs[-1].price == int(bid * 100) - 50
        assert theirs[-1].price != theirs[-2].price  # the market moved during the flight
        mine = tr.tracker.get(theirs[-1].client_id)
        assert mine is not None and mine.status == "expired"

    run(body)


def test_a_catch_up_that_raises_is_logged_and_the_answer_that_loaded_it_still_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 1)
        ep = sim.endpoint("binance")
        ep.delay(0.1)
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.sent == 2, "an order")
        flying = q.in_flight
        assert flying is not None
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.rule.missed, "an update missed")

        def broken(*args: Any, **kw: Any) -> Any:
            raise RuntimeError("tracking bug")

        q.template.after_write = broken  # type: ignore[method-assign]
        ep.delay(0)
        got = await flying  # the answer that loaded the catch-up, applied all the same
        assert got.status == "expired" and tr.tracker.get(got.client_id) is got
        assert q.stopped and isinstance(q.error, RuntimeError)
        assert caplog.text.count("stopped: tracking bug") == 1 and "catching up" not in caplog.text

    run(body)


def test_updates_gone_by_while_a_load_waits_are_priced_once_the_wait_ends() -> None:
    """A load that must wait (here for the dead-man countdown on the symbol, armed before its first
    order where the venue counts per symbol: Binance USDⓈ-M, its answer late at the venue) leaves
    the rule unloaded while the market moves; once the wait ends, the book as it is then is priced
    at once and once — not at the next update."""
    a = USDM

    async def go() -> None:
        # USDⓈ-M books sync on a diff after the snapshot: the market runs until they are, then stops.
        async with Simulator(["binance-usdm"], seed=31, rate=50, depth=20) as sim:
            a.register(sim.venue("binance-usdm"))
            sim.fund("binance-usdm", a.key, a.funds)
            urls = sim.urls()["binance-usdm"]
            async with tickwire.connect(
                "binance-usdm", [SYMBOL], endpoints=urls, probe_interval=None, coalesce=False
            ) as md:  # fmt: skip
                sim.pause()
                async with md.trade(credentials=a.signer, dead_man=5.0) as tr:
                    tick = tr.rules[SYMBOL].tick_size
                    tmpl = tr.template(SYMBOL, "buy", tif="IOC")
                    _, q = mantissas(tmpl, None, a.size(tr, a.touch(sim)[1]))
                    ep = sim.endpoint("binance-usdm")
                    ep.delay(0.3)  # the countdown's arming answered late
                    rule = tmpl.quote(md, q, offset_ticks=-50, when="every")
                    start = a.touch(sim)[0]
                    for _ in range(500):  # the market moves while the rule waits, until its bid did
                        sim.advance(1, "binance-usdm", SYMBOL)
                        if a.touch(sim)[0] != start:
                            break
                    last = sim.book("binance-usdm", SYMBOL).update_id
                    await settle(lambda: md.book(SYMBOL).last_update_id == last, "the updates read")
                    assert rule.sent == 0 and not rule.rule.loaded and rule.rule.missed
                    ep.delay(0)
                    await settle(lambda: rule.sent == 1, "the order priced on the wait's end")
                    await settle(lambda: rule.in_flight is None, "its answer")
                    await asyncio.sleep(0.05)  # nothing more: no update came since
                    [theirs] = a.orders(sim)
                    assert rule.sent == 1 and rule.error is None and not rule.rule.missed
                    # The venue's prices are in ticks: 50 under its bid as it is now, not as it was.
                    assert theirs.price == int(a.touch(sim)[0] / tick) - 50 != int(start / tick) - 50
                    mine = tr.tracker.get(theirs.client_id)
                    assert mine is not None and mine.status == "expired"
                    rule.stop()

    asyncio.run(go())
