"""Closing a session with orders still being settled: their fate is learnt before the session's
tasks and connections go, not dropped with them. Checked against the simulator's own order list.

The venue's engine is made slow to take a request with ``delay`` (``test_cancelled_calls.py``): the
close comes after the order's bytes went out and before the venue took it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from kill_cases import open_at_venue, requests, run
from session_cases import settle
from test_cancelled_calls import SLOW_S, sent_then_cancelled
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
