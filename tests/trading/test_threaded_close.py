"""``ThreadedTrading.close()`` from another thread while the handle's start is still running (the venue
holds the instrument rules): the start raises ``TransportError`` in its thread, the close returns
promptly, the loop thread ends, and the venue has no connection of the session left."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from test_threaded_trading import SYMBOL, in_thread, simulator
from tickwire.errors import TransportError, UnknownOutcome
from tickwire.trading.orders import Order
from tickwire.trading.threaded import ThreadedTrading


def test_a_close_from_another_thread_while_the_start_runs_stops_it() -> None:
    """Before: ``close()`` could not reach a start under way (the loop thread has no stop until its
    start ends) — the rules answered meanwhile, the session came up behind it, and the close blocked
    for its whole bound (``IN_FLIGHT_WAIT`` time-outs + 10 s) and returned with the thread alive and
    the session connected."""
    with simulator() as st:
        gate = threading.Event()
        st.hold("GET /api/v3/exchangeInfo", gate)
        tr = st.handle(timeout=2.0)
        t, out = in_thread(lambda: tr.start(10.0))
        try:
            st.until_handling("GET /api/v3/exchangeInfo")
            threading.Timer(0.5, gate.set).start()  # the rules answered while the close runs
            t0 = time.monotonic()
            tr.close()
            took = time.monotonic() - t0
            t.join(5.0)
            assert not t.is_alive() and isinstance(out[0], TransportError), out
            assert not tr._thread.is_alive() and took < 3.0, took
        finally:
            gate.set()
            tr.close(1.0)
        assert st.run(lambda: len(st.sim.endpoint("binance", 0).conns)) == 0
        assert st.run(lambda: len(st.sim.endpoint("binance", 0).http.conns)) == 0


def test_a_close_from_a_callback_begins_the_close_and_returns() -> None:
    """``on_order`` (the session thread) closes the handle — a bot stopping on what it just heard: the
    close returns at once and the session closes behind it, the venue left with no connection of it
    (before: ``RuntimeError: cannot join current thread`` raised in the callback, the close going on
    behind the error)."""
    with simulator() as st:
        box: list[ThreadedTrading] = []
        got: list[object] = []

        def on_order(o: Order) -> None:
            if o.status == "new" and not got:
                try:
                    box[0].close()
                    got.append("returned")
                except Exception as e:
                    got.append(e)

        tr = st.handle(on_order=on_order).start(10.0)
        box.append(tr)
        try:
            price, qty = st.resting(tr)
            placed = tr.place_order(SYMBOL, "buy", "limit", qty, price)
            tr._thread._thread.join(10.0)
            assert got == ["returned"], got
            assert not tr._thread.is_alive()
            assert [(o.client_id, o.open) for o in st.orders()] == [(placed.client_id, True)]
            assert st.run(lambda: len(st.sim.endpoint("binance", 0).conns)) == 0
            with pytest.raises(TransportError):
                tr.open_orders(SYMBOL)
        finally:
            tr.close(1.0)


def test_a_close_from_a_callback_while_the_start_adopts_stops_the_start_at_once() -> None:
    """An earlier run's order is adopted at start and ``on_order`` hears it while the start still runs
    (the session thread): a close from there stops the start, which raises ``TransportError``, within
    moments (before: the close waited on the session thread for the start it blocked — frozen for its
    whole bound, ``close(1.0)``'s 11 s, ``close()``'s 130 s — then raised ``RuntimeError``)."""
    with simulator() as st:
        earlier = st.handle(strategy="mm").start(10.0)
        price, qty = st.resting(earlier)
        left = earlier.place_order(SYMBOL, "buy", "limit", qty, price)
        earlier.close(2.0)
        box: list[ThreadedTrading] = []
        got: list[object] = []

        def on_order(o: Order) -> None:
            if not got:
                try:
                    box[0].close(1.0)
                    got.append(o.client_id)
                except Exception as e:
                    got.append(e)

        tr = st.handle(strategy="mm", on_order=on_order)
        box.append(tr)
        try:
            t0 = time.monotonic()
            with pytest.raises(TransportError):
                tr.start(30.0)
            took = time.monotonic() - t0
            assert took < 3.0 and got == [left.client_id], (took, got)
            assert not tr._thread.is_alive()
            assert st.run(lambda: len(st.sim.endpoint("binance", 0).conns)) == 0
            assert [(o.client_id, o.open) for o in st.orders()] == [(left.client_id, True)]
        finally:
            tr.close(1.0)


def test_two_closes_at_once_keep_the_shorter_wait_for_orders_in_flight() -> None:
    """A place is at the venue, its answer held, when two bot threads close the handle at once — one
    with ``timeout=0.3``, then one with the default (the session loop busy meanwhile, so both reach it
    before its close begins): the close waits 0.3 s for the order, names it in ``unsettled`` and ends,
    and the first caller returns with the thread ended. Before: the last caller's bound replaced the
    first's — the session waited for the order's verdict, and ``close(0.3)`` returned after its 10.3 s
    with the session still closing behind it, ``unsettled`` empty while the venue held the order."""
    with simulator() as st:
        tr = st.handle(timeout=15.0).start(10.0)
        gate = threading.Event()
        try:
            price, qty = st.resting(tr)
            st.hold("POST /api/v3/order", gate)
            p, placed = in_thread(lambda: tr.place_order(SYMBOL, "buy", "limit", qty, price))
            st.until_handling("POST /api/v3/order")
            busy, release = threading.Event(), threading.Event()

            def block() -> None:  # the session loop held until both closes have asked
                busy.set()
                release.wait(30.0)

            tr._thread.loop.call_soon_threadsafe(block)
            assert busy.wait(10.0)
            stopping: list[float | None] = []
            real_stop = tr._thread.stop

            def stop(timeout: float = 10.0) -> None:
                stopping.append(timeout)
                real_stop(timeout)

            tr._thread.stop = stop  # type: ignore[method-assign]
            a, first = in_thread(lambda: tr.close(0.3))
            _until(lambda: len(stopping) == 1)
            b, second = in_thread(lambda: tr.close())
            _until(lambda: len(stopping) == 2)
            release.set()
            a.join(30.0)
            assert first == [None], first
            assert not tr._thread.is_alive(), "close(0.3) returned with the session still closing"
            [theirs] = st.orders()
            assert [o.client_id for o in tr.unsettled] == [theirs.client_id]
            b.join(30.0)
            p.join(30.0)
            assert second == [None] and isinstance(placed[0], UnknownOutcome), (second, placed)
        finally:
            gate.set()
            tr.close(1.0)


def _until(done: Callable[[], bool]) -> None:
    end = time.monotonic() + 10.0
    while not done():
        assert time.monotonic() < end
        time.sleep(0.002)
