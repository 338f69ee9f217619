"""Quote rules (``tmpl.quote(md, ...)``) against the simulator's own order list: every order the rule
writes from the frame route is at the venue once, at the price the book it fired on gave, tracked
under its client id, never more than one in flight; a lost answer is reconciled into exactly one order
and the rule goes on; the kill switch stops the rule before its cancels go out; bad terms are refused
before anything is armed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import tickwire
from session_cases import settle
from template_cases import KEY, SECRET, SYMBOL, account, mantissas
from test_session_usdm import USDM
from tickwire.errors import InvalidOrder, NotSupported, TradingHalted, TransportError
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.quote import Quote
from tickwire.trading.session import TradingSession
from tickwire.venues import binance

Body = Callable[[Simulator, Any, TradingSession, list[tuple[int, int, int]]], Awaitable[None]]
QTY = 100  # lots of 0.00001 at the simulator's ~60,000: over its 5 USDT minimum


def ioc(tr: TradingSession, md: Any) -> Quote:
    """A rule sending an IOC buy 50 ticks under the bid on every update: each finds nothing and
    ends at once, so the rule's own orders never move the book it watches (a resting order would:
    the simulator's book is the venue's, the account's orders in it)."""
    q = tr.template(SYMBOL, "buy", tif="IOC").quote(md, QTY, offset_ticks=-50, when="every")
    md.quotes.append(q)
    return q


def run(body: Body, register: Callable[[Any], None] | None = None, **trade_kw: Any) -> None:
    """``body(sim, md, tr, seen)`` with market data and a trading session on one simulated Binance;
    ``seen`` gets ``(orders the simulator holds, orders the rule wrote, best bid)`` per ``on_book``."""
    a = account() if register is None else replace(account(), register=register)
    seen: list[tuple[int, int, int]] = []
    quotes: list[Quote] = []

    async def go() -> None:
        async with Simulator(["binance"], seed=31, rate=0, depth=20) as sim:
            a.register(sim.venue("binance"))
            sim.fund("binance", KEY, a.funds)

            def on_book(book: Any) -> None:
                if quotes:
                    seen.append((len(a.orders(sim)), quotes[0].sent, book.best_bid_mantissa(2)))

            async with tickwire.connect(
                "binance", [SYMBOL], endpoints=sim.urls()["binance"], on_book=on_book,
                probe_interval=None, coalesce=False,
            ) as md:  # fmt: skip
                async with md.trade(credentials=binance.Signer(KEY, SECRET), **trade_kw) as tr:
                    md.quotes = quotes  # where on_book finds the rule
                    await body(sim, md, tr, seen)

    asyncio.run(go())


async def moves(sim: Simulator, q: Quote, n: int) -> None:
    """``n`` market steps, each once the rule's previous order was answered (one tick in flight)."""
    for _ in range(n):
        await settle(lambda: q.in_flight is None and q.rule.loaded, "the rule loaded again")
        sent = q.sent
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda s=sent: q.sent > s, "an order")
    await settle(lambda: q.in_flight is None, "the last answer")


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


def test_a_lost_answer_is_reconciled_into_exactly_one_order_and_the_rule_goes_on() -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        sim.endpoint("binance", 0).lose_answer(a.place_op)
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.sent == 1, "the order")
        lost = q.last
        assert lost is not None
        o = await lost  # reconciled: the venue has it, the client never heard
        assert sim.endpoint("binance", 0).lost == [a.place_op]
        assert len(a.orders(sim, o.client_id)) == 1 and len(a.orders(sim)) == 1
        assert o.status == "expired" and o.order_id == str(a.orders(sim)[0].id)
        await moves(sim, q, 2)
        assert len(a.orders(sim)) == q.sent == 3  # nothing resent

    run(body, timeout=1.0)


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


def test_a_loaded_connection_the_venue_closed_is_replaced_before_the_next_tick() -> None:
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 1)
        to = q._to
        assert to is not None and to.conn is not None
        to.conn.close()  # as a venue's idle time-out would
        await settle(lambda: q._to is not None and q._to.conn is not to.conn, "another connection loaded")
        assert q._to is not None and q._to.conn.usable()
        await moves(sim, q, 2)
        assert len(a.orders(sim)) == q.sent == 3 and q.error is None

    run(body)


def test_a_tick_that_races_the_close_is_reconciled_as_not_placed_at_once() -> None:
    """The venue closed the loaded connection and the tick was read before the close: the order went
    into a dead connection. It is tracked, found absent at the venue at once (not after the request's
    time-out), never resent, and the rule goes on."""
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 1)
        to = q._to
        assert to is not None and to.conn is not None
        to.conn.on_lost = None  # the close not seen before the tick (the race)
        to.conn.close()
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.sent == 2, "the order into the dead connection")
        assert q.last is not None
        with pytest.raises(TransportError, match="was not placed"):
            await q.last
        # Settled by reconciliation's queries, not after the request's 10 s time-out.
        assert asyncio.get_running_loop().time() - started < 3.0
        [lost] = [o for o in tr.tracker if o.status == "rejected"]
        assert not a.orders(sim, lost.client_id)
        await moves(sim, q, 2)
        assert len(a.orders(sim)) == 3 and q.sent == 4 and q.error is None

    run(body, timeout=10.0)


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


@pytest.mark.parametrize("out", [False, True], ids=["never-left", "went-out"])
def test_a_write_that_raises_is_reconciled_and_the_rule_goes_on(out: bool) -> None:
    """The loaded write raises, before handing the bytes on or after: the order is reconciled (proved
    absent, or found at the venue), never written again, and the rule loads another once the venue's
    word is in."""
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        q = ioc(tr, md)
        await moves(sim, q, 1)
        to = q._to
        assert to is not None and to.head is None  # REST: write(data)

        def broken(data: bytes) -> None:
            if out:
                to.write(data)
            raise RuntimeError("transport gone")

        q.rule.load(to.form, q.template.stamp, to.rid, broken, None, q.template.take)
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q._write_failures == 1 and q.last is not None and q.last.done(), "reconciled")
        await settle(lambda: q.rule.loaded, "another write loaded")
        assert len(a.orders(sim)) == (2 if out else 1) and q.sent == 1 and not q.stopped
        theirs = {x.client_id: x for x in a.orders(sim)}
        mine = {o.client_id: o for o in tr.tracker}
        assert set(theirs) <= set(mine)  # every order at the venue is tracked
        last = q.last
        assert last is not None
        if out:
            o = last.result()  # found, IOC: expired at the venue, as the simulator has it
            newest = max(theirs.values(), key=lambda x: x.id)
            assert o.client_id == newest.client_id and o.order_id == str(newest.id)
            assert o.status == "expired" and not newest.open
        else:
            assert isinstance(last.exception(), TransportError)
            assert [o.status for c, o in mine.items() if c not in theirs] == ["rejected"]
        await moves(sim, q, 2)
        assert len(a.orders(sim)) == q.sent + (1 if out else 0) == (4 if out else 3)
        assert q.error is None and q._write_failures == 0

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
