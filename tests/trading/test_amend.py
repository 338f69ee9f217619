"""Amends whose answer never comes, against the simulator's own order (the cases every venue passes are
in ``session_cases.py``): one the venue takes only after the session concluded it did not, and one
never written at all."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from session_cases import settle
from test_session_binance import BINANCE, KEY, SECRET
from test_session_bybit import BYBIT
from test_session_kraken import KRAKEN
from test_session_okx import OKX
from test_session_usdm import USDM
from tickwire.errors import InsufficientFunds, TransportError, UnknownOutcome
from tickwire.sim import Simulator
from tickwire.trading.orders import Order, OrderEvent
from tickwire.trading.session import TradingSession
from tickwire.trading.wire import unsent
from tickwire.venues import binance


def test_an_amend_the_venue_applies_after_the_session_gave_up_on_it_is_tracked() -> None:
    """Binance spot: an amend to two thirds of the quantity is lost on its way (it never reached the
    venue) and the venue's state, asked a few times and once more when its 1 s ``recvWindow`` has
    passed, keeps the old terms: "did not take effect". Then the venue applies it after all
    (processed late): its private stream states the new quantity, and the tracker takes it (before:
    the amend was closed and the new terms ignored — the tracker would call the order filled a third
    of the way early, and the rest an overfill)."""
    a = _short_window()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 3)
        lower = o.qty * 2 / 3
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        with pytest.raises(TransportError, match="did not take effect"):
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=lower)
        [theirs] = a.orders(sim, o.client_id)
        inst = sim.venue(a.venue).instruments[a.symbol]
        assert theirs.qty * inst.lot == o.qty == tr._current(o.client_id).qty  # not taken, as said
        engine = sim.venue(a.venue).engine
        engine.amend(a.key, a.symbol, theirs.id, None, int(lower / inst.lot), None)  # taken late
        await settle(lambda: tr._current(o.client_id).qty == lower, "the venue's new terms")
        [theirs] = a.orders(sim, o.client_id)
        assert theirs.qty * inst.lot == lower and theirs.open and tr._current(o.client_id).status == "new"

    a.run(body, timeout=0.5)


def _short_window(ms: int = 1000) -> Any:
    """``BINANCE`` signing with a ``recvWindow`` of ``ms``: how long a lost amend's verdict may wait."""
    return replace(BINANCE, signer=binance.Signer(KEY, SECRET, recv_window=ms))


def test_an_amend_refused_before_it_was_written_leaves_the_order_as_it_was() -> None:
    """``transport="ws"`` and the order socket down (the venue refusing it back): the amend is refused
    before a byte of it is written — ``TransportError`` "socket is down", not ``UnknownOutcome``; the
    order's terms unchanged here and at the venue, the amend not left open (before: reconciled over
    the same dead socket, an unknown outcome, the amend open for good)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 3)
        sim.venue(a.venue).accept = lambda conn: (503, b"down")  # type: ignore[method-assign]
        sim.endpoint(a.venue, 0).drop()
        await settle(lambda: tr.orders_ws is not None and not tr.orders_ws.connected, "the socket down")
        with pytest.raises(TransportError, match="socket is down") as e:
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2 / 3)
        assert not isinstance(e.value, UnknownOutcome)
        [theirs] = a.orders(sim, o.client_id)
        inst = sim.venue(a.venue).instruments[a.symbol]
        assert theirs.qty * inst.lot == o.qty == tr._current(o.client_id).qty
        assert tr.tracker.get(o.client_id) == o

    a.run(body, transport="ws", private_stream=False, timeout=1.0)


async def _amend_doubled_its_state_query_failing(a: Any, sim: Simulator, tr: TradingSession, o: Any) -> None:
    """``o``'s quantity doubled by an amend the venue acknowledges and applies, the state query after
    its acknowledgement failing (a 503): the venue has the new quantity, the amend's window is open."""
    ep, answered = sim.endpoint(a.venue, 0), tr.answered

    async def fail_the_status_query(symbol: str, body: Any) -> Any:
        ep.fail(1, status=503)
        return await answered(symbol, body)

    tr.answered = fail_the_status_query  # type: ignore[method-assign]
    await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2)
    tr.answered = answered  # type: ignore[method-assign]
    assert _venue_qty(a, sim, o.client_id) == o.qty * 2


def _venue_qty(a: Any, sim: Simulator, client_id: str) -> Decimal:
    [theirs] = a.orders(sim, client_id)
    return Decimal(theirs.qty * sim.venue(a.venue).instruments[a.symbol].lot)


@pytest.mark.parametrize("stream", [False, True], ids=["no-stream", "stream"])
@pytest.mark.parametrize("name", ["OKX", "USDM"])
def test_two_amends_of_one_order_at_once_end_on_the_last_ones_terms(name: str, stream: bool) -> None:
    """Two amends of the same order started together: the second waits for the first and is built on
    the terms it left; the tracker ends where the simulator's order is (before: the first to settle
    closed the other's window and its terms were then ignored: the tracker at one size, the venue at
    another, the order called filled with some of it still working at the venue)."""
    a = {"OKX": OKX, "USDM": USDM}[name]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        first, second = await asyncio.gather(
            tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2),
            tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - tr.rules[a.symbol].tick_size),
        )
        assert (first.qty, first.price) == (o.qty * 2, o.price)
        # Built on the first's quantity, not on the one it was started from.
        assert (second.qty, second.price) == (o.qty * 2, o.price - tr.rules[a.symbol].tick_size)
        await asyncio.sleep(0.3)  # any late stream word
        assert _venue_qty(a, sim, o.client_id) == tr._current(o.client_id).qty == o.qty * 2
        assert tr.tracker._recs[o.client_id].amending == 0 and not tr.amends._locks

    a.run(body, private_stream=stream)


@pytest.mark.parametrize("name", ["OKX", "BYBIT", "KRAKEN"])
def test_an_acknowledged_amend_whose_status_query_failed_takes_the_terms_stated_next(name: str) -> None:
    """OKX, Bybit and Kraken answer an amend with an acknowledgement and the session asks the order's
    state; that query fails (a 503). The amend stays open, so a reconciliation's terms are taken
    (before: closed on the old terms, every later statement of the new ones ignored — the tracker
    counted the order filled at its old size and the rest as an overfill)."""
    a = {"OKX": OKX, "BYBIT": BYBIT, "KRAKEN": KRAKEN}[name]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        await _amend_doubled_its_state_query_failing(a, sim, tr, o)
        assert tr.tracker._recs[o.client_id].amending  # left open: the terms are not confirmed
        await tr.reconcile(o.client_id)
        assert tr._current(o.client_id).qty == o.qty * 2
        # The venue stated the terms asked: the window closed, so a late word from before the amend
        # (the old quantity) cannot undo it.
        assert not tr.tracker._recs[o.client_id].amending
        tr.tracker.apply(replace(_stated(tr, o.client_id), qty=o.qty))
        assert tr._current(o.client_id).qty == o.qty * 2

    a.run(body, private_stream=False)


@pytest.mark.parametrize(
    ("name", "refused"), [("OKX", "unsent"), ("BYBIT", "unsent"), ("BYBIT", "by-the-venue")]
)
def test_an_amend_refused_after_an_unconfirmed_one_leaves_that_ones_window_open(
    name: str, refused: str
) -> None:
    """An amend the venue acknowledged, its state query failed (a 503): its window is left open, so the
    terms the venue states next are taken. The next amend of the order is then refused — before a byte
    was written (the order socket down, no budget room) or by the venue (more than the account can
    pay for) — which changes nothing at the venue: the first amend's window must stay open, and the
    venue's next word on the order (here a reconciliation) is taken as its terms. Before, the refused
    amend closed the window it had replaced, and every later statement of the first amend's terms was
    ignored as stale: the tracker kept the old quantity for good against the venue's new one
    ("tracked 0.00003, the venue 0.00006") — found by the random exactly-once test
    (``test_exactly_once_random.py``, OKX over its socket: an amend refused while the socket was down,
    after one acknowledged while the state queries were refused for rate)."""
    a = {"OKX": OKX, "BYBIT": BYBIT}[name]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        send = tr.send
        await _amend_doubled_its_state_query_failing(a, sim, tr, o)
        assert tr._current(o.client_id).qty == o.qty  # not confirmed: the window is left open
        if refused == "unsent":

            async def socket_down(call: Any, lane: Any = "query", **kw: Any) -> Any:
                raise unsent(TransportError(f"{a.venue}: the order socket is down (transport='ws')"))

            tr.send = socket_down  # type: ignore[method-assign]
            with pytest.raises(TransportError, match="socket is down"):
                await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 3)
            tr.send = send  # type: ignore[method-assign]
        else:
            # (OKX's simulator answers any amend its engine refuses 51503, an ``OrderNotFound``.)
            with pytest.raises(InsufficientFunds):  # 20 BTC at ~60,000: past the account's 1,000,000 USDT
                await tr.amend_order(a.symbol, client_id=o.client_id, qty=Decimal(20))
        assert _venue_qty(a, sim, o.client_id) == o.qty * 2  # the refused amend changed nothing there
        await tr.reconcile(o.client_id)
        tracked = tr._current(o.client_id).qty
        venue = _venue_qty(a, sim, o.client_id)
        assert tracked == venue, f"tracked {tracked}, the venue {venue}"

    a.run(body, private_stream=False)


@pytest.mark.usefixtures("okx_without_exptime")  # OKX bounding no request's life
def test_an_amend_the_venue_applies_after_a_later_amend_is_tracked() -> None:
    """OKX sending no ``expTime`` names no request window: an amend whose answer timed out and whose
    queries then found the old terms is "did not take effect" so far, and the venue may still apply it.
    Here the venue's engine reaches that amend (a lower price) only after the next amend (a smaller
    quantity) was applied and confirmed. The venue's word then states both changes; the session must take
    it. Before, the second amend's window had replaced the first's and closed on its own terms, and the
    venue's statement of the first amend's price was ignored as a late word for good — the order tracked
    at its old price while it rested, and traded, at the new one ("timed out waiting for the late amend's
    terms tracked (tracked price 59994.7, the venue 59994.6)") — found by the random exactly-once test
    (``test_exactly_once_random.py``, OKX over REST: an amend sent while REST answers were slow, sweep
    seed 256)."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.stream.connected
        o = await a.rest_below(sim, tr, 50, 3)
        tick = tr.rules[a.symbol].tick_size
        ep = sim.endpoint(a.venue, 0)
        ep.delay(2.5)  # the first amend reaches the engine 2.5 s after it arrived (0.5 s time-out)
        asyncio.get_running_loop().call_later(0.2, ep.delay, 0.0)  # what follows is answered at once
        with pytest.raises(TransportError, match="did not take effect"):
            await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - tick)
        assert a.orders(sim, o.client_id)[0].price * sim.venue(a.venue).instruments[a.symbol].tick == o.price
        second = await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2 / 3)
        assert (second.qty, second.price) == (o.qty * 2 / 3, o.price)  # confirmed: its window closed
        inst = sim.venue(a.venue).instruments[a.symbol]

        def venue_terms() -> tuple[Decimal, Decimal]:
            [theirs] = a.orders(sim, o.client_id)
            return theirs.qty * inst.lot, theirs.price * inst.tick

        await settle(lambda: venue_terms()[1] == o.price - tick, "the first amend applied late", timeout=4.0)
        assert venue_terms() == (o.qty * 2 / 3, o.price - tick)
        await settle(
            lambda: (tr._current(o.client_id).qty, tr._current(o.client_id).price) == venue_terms(),
            f"the late amend's terms tracked (tracked price {tr._current(o.client_id).price}, the venue "
            f"{venue_terms()[1]})",
        )

    a.run(body, timeout=0.5)


def _stated(tr: TradingSession, client_id: str) -> OrderEvent:
    """A venue word stating the order as the tracker has it (a stream update)."""
    o = tr._current(client_id)
    return OrderEvent(
        source="stream", client_id=client_id, order_id=o.order_id, status="new", symbol=o.symbol,
        side=o.side, qty=o.qty, price=o.price,
    )  # fmt: skip


async def _given_up_once_sent(tr: TradingSession, symbol: str, o: Order) -> None:
    """An amend of ``o`` to twice its quantity, its caller giving up (``asyncio.wait_for``) while the
    venue's answer is slow to come — the venue has acted on it."""
    send = tr.send

    async def slow_answer(call: Any, lane: Any = "query", **kw: Any) -> Any:
        got = await send(call, lane, **kw)
        if lane == "order":
            await asyncio.sleep(10)
        return got

    tr.send = slow_answer  # type: ignore[method-assign]
    try:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(tr.amend_order(symbol, client_id=o.client_id, qty=o.qty * 2), 0.3)
    finally:
        tr.send = send  # type: ignore[method-assign]


@pytest.mark.parametrize("name", ["OKX", "USDM"])
def test_an_amend_cancelled_by_its_caller_after_sending_is_left_open(name: str) -> None:
    """The caller gives up on an amend (``asyncio.wait_for``) while its request is out: the venue applies
    it, and the tracker takes the terms the venue states next (before: the cancellation closed the
    window and the venue's new terms were ignored)."""
    a = {"OKX": OKX, "USDM": USDM}[name]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        await _given_up_once_sent(tr, a.symbol, o)
        assert tr.tracker._recs[o.client_id].amending
        assert _venue_qty(a, sim, o.client_id) == o.qty * 2
        await tr.reconcile(o.client_id)
        assert tr._current(o.client_id).qty == o.qty * 2 and not tr.tracker._recs[o.client_id].amending

    a.run(body, private_stream=False)


@pytest.mark.usefixtures("okx_without_exptime")  # OKX bounding no request's life
@pytest.mark.parametrize("name", ["OKX", "USDM"])
def test_an_amend_given_up_after_sending_is_learnt_in_the_background(name: str) -> None:
    """As above, with no private stream and nothing asked afterwards: the session asks about the
    order by itself, so the tracker holds the venue's new terms, the amend closed, and the risk
    limits count them (before: the old quantity tracked until something else reconciled the order)."""
    a = {"OKX": OKX, "USDM": USDM}[name]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        await _given_up_once_sent(tr, a.symbol, o)
        assert _venue_qty(a, sim, o.client_id) == o.qty * 2
        rec = tr.tracker._recs[o.client_id]
        await settle(lambda: rec.order.qty == o.qty * 2 and not rec.amending, "the amend learnt", 3)
        assert tr.risk.exposure(a.symbol)["open_buy_qty"] == o.qty * 2

    a.run(body, private_stream=False)


@pytest.mark.parametrize("name", ["OKX", "USDM"])
def test_an_amend_cancelled_by_its_caller_while_it_waits_for_the_budget_is_closed(name: str) -> None:
    """The caller gives up on an amend to twice the quantity while it waits for the rate budget (made
    to take 10 s): nothing of it was written, so the order stays as it was at the venue and here, the
    amend is closed and the risk limits count the old quantity again (before: left open, the doubled
    quantity counted until the venue's next word)."""
    a = {"OKX": OKX, "USDM": USDM}[name]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        cleared = tr.wire.cleared

        async def full(*args: Any, **kw: Any) -> Any:
            await asyncio.sleep(10)
            return await cleared(*args, **kw)

        tr.wire.cleared = full  # type: ignore[method-assign]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2), 0.3)
        tr.wire.cleared = cleared  # type: ignore[method-assign]
        assert not tr.tracker._recs[o.client_id].amending
        assert tr.risk.exposure(a.symbol)["open_buy_qty"] == o.qty
        assert _venue_qty(a, sim, o.client_id) == o.qty == tr._current(o.client_id).qty

    a.run(body, private_stream=False)


@pytest.mark.parametrize("name", ["OKX", "USDM"])
def test_a_lost_amend_answer_whose_reconciliation_fails_is_unknown_and_left_open(name: str) -> None:
    """The venue applies the amend and its answer is lost; the status query of the reconciliation gets
    a 503. ``UnknownOutcome`` (before: the 503's own error escaped, the amend closed, and the venue's
    new terms were ignored from then on), and a later reconciliation's terms are taken."""
    a = {"OKX": OKX, "USDM": USDM}[name]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 1)
        ep, reconcile = sim.endpoint(a.venue, 0), tr.reconciler.reconcile
        ep.lose_answer(a.amend_op)

        async def failing(cid: str) -> Any:
            ep.fail(1, status=503)
            return await reconcile(cid)

        tr.reconciler.reconcile = failing  # type: ignore[method-assign]
        with pytest.raises(UnknownOutcome, match="reconciliation failed"):
            await tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2)
        tr.reconciler.reconcile = reconcile  # type: ignore[method-assign]
        assert _venue_qty(a, sim, o.client_id) == o.qty * 2
        await tr.reconcile(o.client_id)
        assert tr._current(o.client_id).qty == o.qty * 2

    a.run(body, private_stream=False)


@pytest.mark.usefixtures("okx_without_exptime")  # OKX bounding no request's life
# Two of the four combinations (each path of each kind once), to keep the suite's time.
@pytest.mark.parametrize(
    ("stream", "how"), [(True, "lost"), (False, "given-up")], ids=["stream-lost", "no-stream-given-up"]
)
def test_an_amend_queued_past_its_answer_on_a_venue_with_no_request_window_is_taken_when_it_trades(
    stream: bool, how: str
) -> None:
    """OKX names no request window: an amend whose answer is lost, or whose caller gave up on it once
    it went out, is concluded on what the venue states. Here the amend (twice the quantity, at the
    best ask) is still queued at the venue when its answer times out — "did not take effect" — or its
    caller cancels it, the venue's state shows the old terms, and then the venue applies it and the
    order trades at the new price for the new quantity. The amend is
    left open, so the next word of the venue (its private stream, or with none an ``order_status``)
    is taken as the order's terms: the tracker ends with the simulator's quantity, price and fills,
    each fill heard once, nothing called an overfill; while nothing has told, the risk limits
    count the larger quantity. (A check of the code as it is: this case passed before the review.)"""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        heard: list[Any] = []
        notes: list[str] = []
        tr._user_on_fill = heard.append
        tr.tracker.on_anomaly = lambda o, note: notes.append(note)
        o = await a.rest_below(sim, tr, 50, 1)
        _, ask = a.touch(sim)
        ep = sim.endpoint(a.venue, 0)
        ep.delay(2.0)
        call = asyncio.ensure_future(
            tr.amend_order(a.symbol, client_id=o.client_id, qty=o.qty * 2, price=ask)
        )
        await settle(lambda: a.amend_op in ep.handling(), "the amend at the venue")
        ep.delay(0)
        if how == "lost":
            with pytest.raises(TransportError, match="did not take effect"):
                await call
        else:
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            await settle(lambda: not tr.settling(), "the background look at the order")
        assert (tr._current(o.client_id).qty, tr._current(o.client_id).price) == (o.qty, o.price)
        assert tr.risk.exposure(a.symbol)["open_buy_qty"] == o.qty * 2
        await settle(lambda: a.orders(sim, o.client_id)[0].filled, "the venue to apply it and fill", 3)
        [theirs] = a.orders(sim, o.client_id)  # the amended order (the simulator replaces it)
        assert not theirs.open and _venue_qty(a, sim, o.client_id) == o.qty * 2
        if stream:
            await settle(lambda: not tr._current(o.client_id).is_open, "the stream's word", 3)
        else:
            assert tr._current(o.client_id).qty == o.qty  # nothing told yet
            await tr.order_status(a.symbol, client_id=o.client_id)
        got = tr._current(o.client_id)
        assert (got.status, got.qty, got.price, got.filled) == ("filled", o.qty * 2, ask, o.qty * 2), got
        await asyncio.sleep(0.2)  # nothing heard twice
        assert sorted(f.trade_id for f in heard) == sorted(str(f.trade_id) for f in theirs.fills)
        assert {f.price for f in heard} == {ask} and notes == []

    a.run(body, timeout=0.5, private_stream=stream)


@pytest.mark.parametrize("stream", [False, True], ids=["no-stream", "stream"])
def test_a_binance_amend_still_queued_when_its_answer_is_lost_is_not_called_not_taken(stream: bool) -> None:
    """Binance spot, ``recvWindow`` 2 s. The amend (to two thirds of the quantity) is queued at the
    venue 1.6 s before its engine takes it, so its answer times out and the queries that follow,
    over ~0.6 s, still show the old quantity. The venue can take the request until ``recvWindow``
    after its timestamp, so the call waits that out — ending as soon as the private stream states the
    new terms — and looks once more: it returns the order as amended, as the simulator has it
    (before: ``TransportError`` "did not take effect" with the amend still queued; the tracker kept the
    amend open, but a strategy told so that amends again is refused for a change of no state, which
    closes the amend with the old quantity tracked while the venue's order has the new one)."""
    a = _short_window(2000)

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50, 3)
        lower = o.qty * 2 / 3
        ep = sim.endpoint(a.venue, 0)
        ep.delay(1.6)
        call = asyncio.ensure_future(tr.amend_order(a.symbol, client_id=o.client_id, qty=lower))
        await settle(lambda: a.amend_op in ep.handling(), "the amend at the venue")
        ep.delay(0)
        got = await call
        assert (got.qty, _venue_qty(a, sim, o.client_id)) == (lower, lower), got
        assert tr._current(o.client_id).qty == lower and not tr.tracker._recs[o.client_id].amending

    a.run(body, timeout=0.5, private_stream=stream)


def test_a_replaced_amends_own_word_held_past_the_later_amend_is_not_taken_as_applied_after_it() -> None:
    """OKX over REST, its private stream congested (the simulator holds what it sends, delivered late
    and in order). Amend A (a tick lower) is acknowledged and applied, the state query after its
    acknowledgement failing (a 503): its window left open. Amend B (two ticks lower) replaces that
    window, is applied on top of A and confirmed by its state query. Then the stream delivers what it
    held: A's word (one tick lower, written before B) and B's. A's word is the venue's state before B,
    not A applied after B: the order must stay tracked two ticks lower, as the venue has it. Before,
    A's word was taken as the replaced amend applied late, and B's word then ignored as a late one —
    the tracker one tick lower for good against the venue's two."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        assert tr.stream is not None and tr.stream.connected
        o = await a.rest_below(sim, tr, 50, 3)
        tick = tr.rules[a.symbol].tick_size
        ep, answered = sim.endpoint(a.venue, 0), tr.answered
        inst = sim.venue(a.venue).instruments[a.symbol]

        def venue_price() -> Decimal:
            [theirs] = a.orders(sim, o.client_id)
            return Decimal(theirs.price * inst.tick)

        async def fail_the_status_query(symbol: str, body: Any) -> Any:
            ep.fail(1, status=503)
            return await answered(symbol, body)

        ep.stall(hold=True)  # the private stream's words held from here
        tr.answered = fail_the_status_query  # type: ignore[method-assign]
        await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - tick)
        tr.answered = answered  # type: ignore[method-assign]
        assert venue_price() == o.price - tick and tr.tracker._recs[o.client_id].amending
        second = await tr.amend_order(a.symbol, client_id=o.client_id, price=o.price - 2 * tick)
        assert second.price == o.price - 2 * tick == venue_price()  # confirmed: its window closed
        ep.unstall()  # A's word, then B's
        await asyncio.sleep(0.5)
        tracked = tr._current(o.client_id).price
        assert tracked == venue_price(), f"tracked price {tracked}, the venue {venue_price()}"

    a.run(body, timeout=0.5)
