"""Closing a session with orders still being settled: their fate is learnt before the session's
tasks and connections go, not dropped with them. Checked against the simulator's own order list.

The venue's engine is made slow to take a request with ``delay`` (``test_cancelled_calls.py``): the
close comes after the order's bytes went out and before the venue took it."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from kill_cases import open_at_venue, requests, rest_buy, run
from session_cases import settle
from test_cancelled_calls import SLOW_S, run_short_window, sent_then_cancelled
from tickwire.errors import TransportError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


@pytest.mark.parametrize("path", ["place_order", "template"])
def test_a_close_right_after_a_call_was_cancelled_settles_its_order_first(path: str) -> None:
    """The call is cancelled once its request is out, the private stream stalled, and the session
    closed at once: after ``close`` the order is tracked as the venue has it — working, its order id
    — sent once, and nothing is left unsettled (before: the task settling it was cancelled by the
    close, the order left ``pending`` for good)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint("binance", 0).stall()
        cid = await sent_then_cancelled(sim, tr, path)
        await tr.close()
        (theirs,) = open_at_venue(sim, "binance")
        o = tr.tracker.get(cid)
        assert o is not None and o.status == "new" and o.order_id == str(theirs.id), o
        assert requests(sim, "binance").count("POST /api/v3/order") == 1
        assert tr.unsettled == [] and not tr.in_flight()

    run("binance", body)


def test_a_close_while_a_place_call_awaits_its_answer_lets_the_call_return_the_order() -> None:
    """``close`` from another task while ``place_order`` waits for the venue's slow answer: the call
    returns the order as the venue took it (before: the connections closed under it, the call
    raised and the order stayed unknown)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules["BTCUSDT"]
        price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
        ep = sim.endpoint("binance", 0)
        ep.delay(SLOW_S)
        call = asyncio.ensure_future(tr.place_order("BTCUSDT", "buy", "limit", r.min_qty * 100, price))
        await settle(lambda: "POST /api/v3/order" in ep.handling(), "the request at the venue")
        ep.delay(0)
        await tr.close()
        order = await call
        (theirs,) = open_at_venue(sim, "binance")
        assert order.status == "new" and order.order_id == str(theirs.id)
        assert tr.unsettled == []

    run("binance", body)


def test_a_close_told_not_to_wait_names_the_orders_left_unsettled(caplog: Any) -> None:
    """``settle_s=0``: the close does not wait; the order the venue has not answered yet is listed in
    ``unsettled`` and logged by client id — the one the simulator then takes."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        sim.endpoint("binance", 0).stall()
        cid = await sent_then_cancelled(sim, tr, "place_order")
        with caplog.at_level(logging.WARNING, "tickwire.trading"):
            await tr.close(settle_s=0)
        assert [o.client_id for o in tr.unsettled] == [cid]
        assert any(cid in r.getMessage() and "unknown fate" in r.getMessage() for r in caplog.records)
        engine = sim.venue("binance").engine
        await settle(lambda: len(engine.orders) == 1, "the venue to take the order", 2)
        assert [o.client_id for o in engine.orders.values()] == [cid]

    run("binance", body)


@pytest.mark.parametrize("path", ["cancel_order", "amend_order"])
def test_a_close_while_a_cancel_or_amend_awaits_its_answer_lets_the_call_finish(path: str) -> None:
    """``close`` from another task while a ``cancel_order`` (``amend_order``: half the quantity) waits
    for the venue's slow answer, the private stream stalled: the call returns the order as the venue
    left it, the tracker agrees with the simulator's order (canceled; the new quantity) and nothing
    is left unsettled (before: the close did not wait for it — the connections closed under the
    call, which raised, and the order stayed tracked working at its old terms)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules["BTCUSDT"]
        price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
        placed = await tr.place_order("BTCUSDT", "buy", "limit", r.min_qty * 100, price)
        (theirs,) = open_at_venue(sim, "binance")
        lots = theirs.qty
        ep = sim.endpoint("binance", 0)
        ep.stall()
        ep.delay(SLOW_S)
        cid = placed.client_id
        if path == "cancel_order":
            call = asyncio.ensure_future(tr.cancel_order("BTCUSDT", client_id=cid))
            op = "DELETE /api/v3/order"
        else:
            call = asyncio.ensure_future(tr.amend_order("BTCUSDT", client_id=cid, qty=r.min_qty * 50))
            op = "PUT /api/v3/order/amend/keepPriority"
        await settle(lambda: op in ep.handling(), "the request at the venue")
        ep.delay(0)
        await tr.close()
        got = await call
        o = tr.tracker.get(cid)
        if path == "cancel_order":
            assert open_at_venue(sim, "binance") == [] and theirs.status == "CANCELED"
            assert got.status == "canceled" and o is not None and o.status == "canceled", o
        else:
            assert theirs.open and theirs.qty * 2 == lots
            assert o is not None and o.status == "new" and o.qty == r.min_qty * 50, o
        assert tr.unsettled == []

    run("binance", body)


def test_a_close_right_after_a_cancel_was_given_up_learns_what_the_venue_did() -> None:
    """A ``cancel_order`` its caller gave up on once it was out (the order then asked about in the
    background, once the venue's 1 s ``recvWindow`` passed), the private stream stalled, and the
    session closed at once: after ``close`` the order is tracked canceled, as the simulator has it
    (before: the close cancelled that background check, the order stayed ``new`` for good)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules["BTCUSDT"]
        price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
        cid = (await tr.place_order("BTCUSDT", "buy", "limit", r.min_qty * 100, price)).client_id
        ep = sim.endpoint("binance", 0)
        ep.stall()
        ep.delay(SLOW_S)
        call = asyncio.ensure_future(tr.cancel_order("BTCUSDT", client_id=cid))
        await settle(lambda: "DELETE /api/v3/order" in ep.handling(), "the cancel at the venue")
        ep.delay(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await tr.close()
        await settle(lambda: open_at_venue(sim, "binance") == [], "the venue to cancel it", 2)
        o = tr.tracker.get(cid)
        assert o is not None and o.status == "canceled", o
        assert tr.unsettled == []

    run_short_window(body)


def test_a_close_does_not_wait_for_an_order_still_waiting_for_the_rate_budget() -> None:
    """Nine orders fill the account's order count (ten per 10 s, one kept for cancels); a tenth
    waits for room (``rate_wait=30``) when the session closes. Nothing of it was written, and now
    nothing will be: its call ends at once, refused unsent, and the close neither waits for it nor
    lists it as an order of unknown fate; the simulator never gets it (before: the close waited its
    whole bound, two request time-outs, for the budget, then listed the order unsettled)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        for i in range(9):
            await rest_buy(sim, tr, "BTCUSDT", 30 + i)
        call = asyncio.ensure_future(rest_buy(sim, tr, "BTCUSDT", 60))
        await settle(lambda: len(tr.in_flight()) == 1, "the tenth order waiting for the budget")
        t0 = time.monotonic()
        await tr.close()
        took = time.monotonic() - t0
        assert took < 1.0, f"the close waited {took:.2f} s for an order that cannot be sent"
        assert tr.unsettled == []
        with pytest.raises(TransportError, match="closing"):
            await asyncio.wait_for(call, 1.0)
        assert requests(sim, "binance").count("POST /api/v3/order") == 9
        assert len(sim.venue("binance").engine.orders) == 9

    run("binance", body, {"order_limit_10s": 10}, rate_wait=30, timeout=1.0)


def test_a_close_while_the_kill_runs_lets_the_kill_finish() -> None:
    """The kill is thrown while a place call waits for the venue's slow answer (every request slow),
    and the session closed right after: the close waits for the kill, whose report is complete, and
    once the venue has handled every request it holds nothing open (before: the close cut the kill's
    requests short — its report incomplete — and the order the venue took stayed open there)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        r = tr.rules["BTCUSDT"]
        price = sim.book("binance", "BTCUSDT").bids[0][0] - 50 * r.tick_size
        ep = sim.endpoint("binance", 0)
        ep.stall()
        ep.delay(SLOW_S)
        call = asyncio.ensure_future(tr.place_order("BTCUSDT", "buy", "limit", r.min_qty * 100, price))
        await settle(lambda: "POST /api/v3/order" in ep.handling(), "the request at the venue")
        kill = asyncio.ensure_future(tr.kill("closing under a kill"))
        await asyncio.sleep(0.05)
        await tr.close()
        report = await kill
        await call
        await settle(lambda: not ep.handling(), "the venue to handle every request", 3)
        assert open_at_venue(sim, "binance") == [], open_at_venue(sim, "binance")
        assert report.complete, report

    run("binance", body)


def test_a_kill_thrown_once_the_close_began_runs_to_its_end_and_one_after_it_is_refused() -> None:
    """A place waits for the venue's slow answer; the close begins (its wait for orders being settled
    cut to 50 ms) and the kill is thrown during that wait: the close waits for the kill past its own
    wait, so the report is complete and, once the venue has handled every request, it holds nothing
    open (before: the close disarmed the switch and closed the wire under the kill — its requests cut
    short, its report incomplete, the orders left resting). A kill once the session has closed is
    refused unsent (``TransportError``), nothing halted."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await rest_buy(sim, tr, "BTCUSDT")
        ep = sim.endpoint("binance", 0)
        ep.delay(SLOW_S)
        call = asyncio.ensure_future(rest_buy(sim, tr, "BTCUSDT", 40))
        await settle(lambda: "POST /api/v3/order" in ep.handling(), "the request at the venue")
        closing = asyncio.ensure_future(tr.close(settle_s=0.05))
        await asyncio.sleep(0.01)  # the close waiting for the place
        report = await tr.kill("closing")
        await closing
        assert report.complete and len(report.cancelled) == 2, report
        await call  # its order, taken by the venue once the kill began, cancelled by the kill
        await settle(lambda: not ep.handling(), "the venue to handle every request", 3)
        assert open_at_venue(sim, "binance") == [], open_at_venue(sim, "binance")
        tr.resume()
        with pytest.raises(TransportError, match="the session has closed") as refused:
            await tr.kill("too late")
        assert getattr(refused.value, "unsent", False) and tr.halted is None

    run("binance", body)


def test_a_close_waits_for_the_fills_the_private_stream_stated_but_did_not_list() -> None:
    """Coinbase's user channel states cumulative fills only: each new execution is fetched from the
    venue's trade history. That history is slow to answer (``delay``) and the session closes as soon
    as the channel says the order filled: the close waits for the fetch, so ``on_fill`` hears each
    of the venue's fills once, by trade id (before: the close cancelled the fetch; none heard)."""
    from test_session_coinbase import COINBASE as a
    from test_session_coinbase import trade_through

    async def body(sim: Simulator, tr: TradingSession) -> None:
        fills: list[Any] = []
        tr._user_on_fill = fills.append
        o = await a.rest_below(sim, tr, 0)  # at the best bid: the market trades through it
        [theirs] = a.orders(sim, o.client_id)
        sim.endpoint(a.venue, 0).delay(SLOW_S)
        await trade_through(sim, theirs)
        await settle(lambda: getattr(tr.tracker.get(o.client_id), "status", None) == "filled", "the stream")
        await tr.close()
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)

    a.run(body)
