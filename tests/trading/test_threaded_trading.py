"""``ThreadedTrading`` driven from this (synchronous) thread against a simulator running on a thread of its
own, checked against the simulator's own order list and the typed errors the async session raises.

An answer is held at the venue with ``hold_answer`` until the test lets it go (``gate``): the call is
then known to be in flight, with no sleep guessing how long it takes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from tickwire.errors import RequestTimeoutError, TradingHalted, TransportError, UnknownOutcome
from tickwire.loop import LoopThread
from tickwire.sim import Simulator
from tickwire.sim.auth import ApiKey
from tickwire.trading.orders import Order
from tickwire.trading.threaded import ThreadedTrading
from tickwire.trading.trade import trade
from tickwire.venues import binance

KEY, SECRET = "threaded-key", "threaded-secret"
SYMBOL = "BTCUSDT"
T = TypeVar("T")


class SimThread:
    """A Binance simulator on its own loop thread, the test account keyed and funded; everything read
    of it runs on that loop (its engine is not made for other threads)."""

    def __init__(self) -> None:
        self.sim = Simulator(["binance"], seed=41, rate=0, depth=20)
        self.thread = LoopThread("test-sim", self._start, self.sim.stop)

    async def _start(self) -> None:
        await self.sim.start()
        self.sim.venue("binance").add_key(ApiKey(KEY, secret=SECRET.encode()))
        self.sim.fund("binance", KEY, {"USDT": "10000000", "BTC": "100"})

    def run(self, fn: Callable[[], T]) -> T:
        async def on_loop() -> T:
            return fn()

        return self.thread.call(on_loop(), 10.0)

    def orders(self) -> list[Any]:
        """The simulator's own orders of the account."""
        return self.run(lambda: list(self.sim.venue("binance").engine.orders.values()))

    def handling(self) -> list[str]:
        return self.run(lambda: self.sim.endpoint("binance", 0).handling())

    def hold(self, operation: str, gate: threading.Event) -> None:
        """The next ``operation``'s answer held, once the venue handled it, until ``gate`` is set."""

        async def meanwhile() -> None:
            while not gate.is_set():
                await asyncio.sleep(0.005)

        self.run(lambda: self.sim.endpoint("binance", 0).hold_answer(operation, meanwhile))

    def until_handling(self, operation: str) -> None:
        end = time.monotonic() + 10.0
        while operation not in self.handling():
            assert time.monotonic() < end, f"{operation} never reached the venue"
            time.sleep(0.005)

    def handle(self, **kw: Any) -> ThreadedTrading:
        """A handle on the simulator, not started yet."""
        signer = binance.Signer(KEY, SECRET)
        return ThreadedTrading(
            trade("binance", credentials=signer, endpoints=self.sim.urls()["binance"], **kw)
        )

    def resting(self, tr: ThreadedTrading) -> tuple[Decimal, Decimal]:
        """A buy's price 50 ticks under the best bid and its quantity."""
        r = tr.session.rules[SYMBOL]
        bid = self.run(lambda: self.sim.book("binance", SYMBOL).bids[0][0])
        return bid - 50 * r.tick_size, r.min_qty * 100


@contextlib.contextmanager
def simulator() -> Iterator[SimThread]:
    st = SimThread()
    st.thread.start(10.0)
    try:
        yield st
    finally:
        st.thread.stop(10.0)


def in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """``fn`` on a thread of its own (a second user thread); its result or exception in the list."""
    out: list[Any] = []

    def go() -> None:
        try:
            out.append(fn())
        except BaseException as e:
            out.append(e)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


def test_a_query_racing_close_raises_the_sessions_typed_error() -> None:
    """``open_orders`` is at the venue, its answer held, when ``close()`` stops the session: the caller
    gets ``TransportError``, as the async session raises once closed (before: a bare
    ``concurrent.futures.CancelledError``)."""
    with simulator() as st:
        tr = st.handle().start(10.0)
        gate = threading.Event()
        try:
            st.hold("GET /api/v3/openOrders", gate)
            t, out = in_thread(lambda: tr.open_orders(SYMBOL))
            st.until_handling("GET /api/v3/openOrders")
            tr.close()
            t.join(10.0)
            assert not t.is_alive()
            assert isinstance(out[0], TransportError), repr(out[0])
        finally:
            gate.set()
            tr.close()


def test_calls_after_close_are_refused_unsent_as_the_async_session_refuses_them() -> None:
    """After ``close()``, a place raises ``TransportError`` (nothing sent, nothing to reconcile) and a
    query ``TransportError``, as the async session does (before: ``UnknownOutcome`` — "the order may be
    at the venue" of an order never sent — and ``tickwire.loop.LoopStopped``, a bare RuntimeError)."""
    with simulator() as st:
        tr = st.handle().start(10.0)
        price, qty = st.resting(tr)
        tr.close()
        with pytest.raises(TransportError) as placed:
            tr.place_order(SYMBOL, "buy", "limit", qty, price)
        assert not isinstance(placed.value, UnknownOutcome)
        with pytest.raises(TransportError):
            tr.cancel_all(SYMBOL)
        with pytest.raises(TransportError):
            tr.open_orders(SYMBOL)
        assert st.orders() == []


def test_health_after_close_reports_the_closed_session() -> None:
    """After ``close()``, ``tr.health()`` reports the closed session — its sockets down, the order it
    left resting counted open — as the async session's and the market-data handle's do; a monitor
    reads why a bot stopped (before stop 55: ``TransportError``)."""
    with simulator() as st:
        tr = st.handle().start(10.0)
        price, qty = st.resting(tr)
        placed = tr.place_order(SYMBOL, "buy", "limit", qty, price)
        assert tr.health()["stream_connected"] is True
        tr.close()
        h = tr.health()
        assert (h["stream_connected"], h["open_orders"]) == (False, 1), h
        assert [(o.client_id, o.open) for o in st.orders()] == [(placed.client_id, True)]


def test_a_handle_call_from_a_callback_raises_instead_of_freezing_the_session() -> None:
    """``on_order`` runs on the session thread (README); a bot that cancels from it through the handle
    gets an error at once, logged, and the session goes on: the place returns, the order rests at the
    venue, and a cancel from the bot's thread ends it (before: the session thread waited for itself,
    the place never returned and nothing more ran)."""
    with simulator() as st:
        box: list[ThreadedTrading] = []
        raised: list[BaseException] = []

        def on_order(o: Order) -> None:
            if o.status == "new" and not raised:
                try:
                    box[0].cancel_order(SYMBOL, client_id=o.client_id)
                except Exception as e:
                    raised.append(e)
                    raise

        tr = st.handle(on_order=on_order).start(10.0)
        box.append(tr)
        try:
            price, qty = st.resting(tr)
            t, out = in_thread(lambda: tr.place_order(SYMBOL, "buy", "limit", qty, price))
            t.join(10.0)
            assert not t.is_alive(), "the place never returned"
            placed = out[0]
            assert isinstance(placed, Order), repr(placed)
            assert isinstance(raised[0], RuntimeError) and "callback" in str(raised[0])
            assert [(o.client_id, o.open) for o in st.orders()] == [(placed.client_id, True)]
            assert tr.cancel_order(SYMBOL, client_id=placed.client_id).status == "canceled"
            assert [o.open for o in st.orders()] == [False]
        finally:
            tr.close(2.0)


def test_a_start_past_start_timeout_raises_and_the_session_is_stopped() -> None:
    """The venue holds the instrument rules past ``start_timeout``: the start raises
    ``RequestTimeoutError`` and the session is stopped, not left to come up behind the bot's back
    (before: it returned an unstarted handle, no rules, and its ``close()`` could not stop the thread:
    the session came up afterwards and stayed connected)."""
    with simulator() as st:
        gate = threading.Event()
        st.hold("GET /api/v3/exchangeInfo", gate)
        tr = st.handle()
        try:
            with pytest.raises(RequestTimeoutError):
                tr.start(0.3)
        finally:
            gate.set()
            tr.close(10.0)
        assert not tr._thread.is_alive()  # nothing left to come up: no socket open at the venue
        assert st.run(lambda: len(st.sim.endpoint("binance", 0).conns)) == 0


def test_a_query_past_the_handles_time_out_raises_request_timeout() -> None:
    """A query still unanswered after ``tr.timeout`` raises ``RequestTimeoutError``, the session's own
    time-out type (before: the bare ``TimeoutError`` of ``concurrent.futures``)."""
    with simulator() as st:
        tr = st.handle().start(10.0)
        gate = threading.Event()
        try:
            st.hold("GET /api/v3/openOrders", gate)
            tr.timeout = 0.3
            with pytest.raises(RequestTimeoutError):
                tr.open_orders(SYMBOL)
        finally:
            gate.set()
            tr.close()


def test_close_with_a_timeout_bounds_the_wait_for_orders_in_flight_and_names_what_it_left() -> None:
    """A place is at the venue, its answer held, when the bot closes with ``timeout=0.3``: the close
    returns within a few seconds with the thread ended and the order in ``unsettled`` (the venue
    holds it; its fate is not known here). Before: ``close(0.3)`` bounded only the wait for the
    thread, returned with the session still settling behind the bot and ``unsettled`` empty."""
    with simulator() as st:
        tr = st.handle().start(10.0)
        gate = threading.Event()
        try:
            price, qty = st.resting(tr)
            st.hold("POST /api/v3/order", gate)
            t, out = in_thread(lambda: tr.place_order(SYMBOL, "buy", "limit", qty, price))
            st.until_handling("POST /api/v3/order")
            t0 = time.monotonic()
            tr.close(0.3)
            took = time.monotonic() - t0
            assert not tr._thread.is_alive() and took < 5.0, took
            [theirs] = st.orders()
            assert [o.client_id for o in tr.unsettled] == [theirs.client_id]
            t.join(10.0)
            assert isinstance(out[0], UnknownOutcome), repr(out[0])
        finally:
            gate.set()
            tr.close()


def test_a_callback_that_exits_closes_the_session_as_an_exception_closes_the_async_one() -> None:
    """``on_order`` calls ``sys.exit()`` (a bot stopping on what it heard) while another place is at
    the venue, its answer held: the ``SystemExit`` ends the session's loop, and the session is closed
    as the async one is when an exception leaves it — nothing waited for, the order still in flight
    named in ``unsettled`` (its caller told ``UnknownOutcome``), no connection left at the venue.
    Before: the loop thread died with the session open — its sockets connected to the venue for as
    long as the process lived, ``unsettled`` empty while the venue held the order, and no ``close()``
    (nor the one at interpreter exit) could reach it."""
    with simulator() as st:
        gate = threading.Event()
        last: list[Decimal] = []

        def on_order(o: Order) -> None:
            if o.status == "new" and o.price in last:
                sys.exit("the bot stops")

        tr = st.handle(on_order=on_order).start(10.0)
        try:
            price, qty = st.resting(tr)
            last.append(price - tr.session.rules[SYMBOL].tick_size)
            st.hold("POST /api/v3/order", gate)
            t, held = in_thread(lambda: tr.place_order(SYMBOL, "buy", "limit", qty, price))
            st.until_handling("POST /api/v3/order")
            u, exited = in_thread(lambda: tr.place_order(SYMBOL, "buy", "limit", qty, last[0]))
            u.join(10.0)
            t.join(10.0)
            assert not t.is_alive() and not u.is_alive()
            # The exit raised in the call whose answer was being applied, or the other's cut short —
            # or that call had its answer first and the exit came with the stream's word of the order.
            assert isinstance(exited[0], (SystemExit, UnknownOutcome, Order)), exited
            assert isinstance(held[0], UnknownOutcome), held
            tr._thread._thread.join(10.0)
            assert not tr._thread.is_alive()
            lower, higher = sorted(st.orders(), key=lambda o: o.price)  # the exiting one, the held one
            assert lower.open and higher.open
            # Every call told UnknownOutcome has its order named in ``unsettled``, as the README says.
            unknown = {higher.client_id} | (
                {lower.client_id} if isinstance(exited[0], UnknownOutcome) else set()
            )
            assert unknown <= {o.client_id for o in tr.unsettled}, (unknown, tr.unsettled)
            assert st.run(lambda: len(st.sim.endpoint("binance", 0).conns)) == 0
        finally:
            gate.set()
            tr.close(1.0)


class _SlowStop:
    """A quote rule whose ``stop()`` — which the kill calls on the session thread after halting and
    before counting itself running — lets another thread's ``resume()`` run meanwhile (the GIL may
    switch threads there at any bytecode; this makes it sure)."""

    def __init__(self, resume: Callable[[], None]) -> None:
        self.resume = resume
        self.raised: list[BaseException | None] = []
        self.thread: threading.Thread | None = None

    def stop(self) -> None:
        def go() -> None:
            try:
                self.resume()
                self.raised.append(None)
            except BaseException as e:
                self.raised.append(e)

        t = self.thread = threading.Thread(target=go, daemon=True)
        t.start()
        t.join(1.0)  # on the loop: a resume run there waits for this to return


def test_a_resume_from_another_thread_while_a_kill_begins_leaves_the_session_halted() -> None:
    """A bot thread calls ``resume()`` as another's ``kill`` begins: the resume runs on the session's
    loop, after the kill counted itself running, and is refused (``TradingHalted``) — the session stays
    halted and a place after the kill is refused, nothing sent. Before: ``resume()`` ran on the bot's
    thread, between the kill's halt and its count of running kills, cleared the halt, and the session
    traded again behind the kill switch (the place after it went to the venue)."""
    with simulator() as st:
        tr = st.handle().start(10.0)
        try:
            price, qty = st.resting(tr)
            slow = _SlowStop(tr.resume)
            tr.session.quotes.append(slow)
            report = tr.kill("test")
            assert report.complete
            assert slow.thread is not None
            slow.thread.join(10.0)  # its answer reaches that thread after the kill's may reach this one
            assert slow.raised and isinstance(slow.raised[0], TradingHalted), slow.raised
            with pytest.raises(TradingHalted):
                tr.place_order(SYMBOL, "buy", "limit", qty, price)
            assert st.orders() == []
        finally:
            tr.close(1.0)
