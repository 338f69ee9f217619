"""Tradefence's own batch (``tradefence.batch``) on the rate budget's lanes, against the simulator's
order list."""

from __future__ import annotations

import asyncio
import decimal
from dataclasses import replace
from decimal import Decimal

import pytest
from test_session_tradefence import TRADEFENCE as a
from tickwire.errors import InvalidOrder, TransportError
from tickwire.limits import Limit
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.trading.unsent import was_unsent
from tickwire.venues import tradefence


def test_a_batch_of_cancels_only_goes_in_the_room_kept_for_cancels() -> None:
    """With the budget used up to the room kept back for cancels, a batch that only cancels goes at
    once, as ``cancel_order`` would, and the simulator's order is cancelled (before: it went on the
    query lane and waited for the window to pass, the order resting meanwhile)."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        resting = await a.rest_below(sim, tr, 20)
        # A window the start's requests are still in, filled up to the room outside the cancels'.
        tr.budget.set_limits([Limit("REQUESTS", 3, 5.0, "account")], replace=True)
        while tr.budget.try_take({"REQUESTS": 1}, "query") <= 0:
            pass
        [result] = await asyncio.wait_for(
            tradefence.batch(tr, [tradefence.CancelOrder(client_id=resting.client_id)]), 1.0
        )
        assert result.ok and result.order is not None and result.order.status == "canceled"
        assert not a.orders(sim, resting.client_id)[0].open

    a.run(body)


def test_a_position_target_is_checked_as_an_order_quantity_is_and_its_sign_kept() -> None:
    """``UPDATE_POSITION``'s signed target passes the same intake as an order's quantity, exactly:
    past the 21 integer digits any number may have (10**25 shares) it is ``InvalidOrder`` with nothing
    sent, as is a NaN; a signed int or string target is the number it says (-1 is a short of one);
    and the lot check does not round in the caller's decimal context. Before: 10**25 went to the
    venue (a Decimal skipped every bound), 10**30 raised ``decimal.InvalidOperation`` (no
    ``InvalidOrder``), -1 as an int or "-1" was refused as negative, and a 2-digit context turned the
    lot check of 100 into ``decimal.InvalidOperation``."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine = sim.venue(a.venue).engine
        assert tr.rules[a.symbol].lot_size == 1
        before = len(sim.endpoint(a.venue, 0).exchanges)
        huge = Decimal(10) ** 25
        for bad in (huge, Decimal(10) ** 30, -huge, Decimal("NaN"), Decimal("0.5")):
            try:
                results = await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, bad)])
            except InvalidOrder:
                continue
            raise AssertionError(f"UPDATE_POSITION to {bad} was sent: {results}")
        assert len(sim.endpoint(a.venue, 0).exchanges) == before, "nothing sent"
        assert engine.position(a.key, a.symbol) == 0
        for target, held in ((-1, -1), ("2", 2), ("-1", -1), (Decimal("-0"), 0)):
            [moved] = await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, target)])  # type: ignore[arg-type]
            assert moved.ok and engine.position(a.key, a.symbol) == held, (target, moved)
        with decimal.localcontext() as ctx:
            ctx.prec = 2  # the caller's own setting: 100 has three digits
            [moved] = await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, Decimal(100))])
        assert moved.ok and engine.position(a.key, a.symbol) == 100

    a.run(body)


def test_a_created_order_changed_after_prepare_is_checked_again_and_nothing_sent() -> None:
    """``CREATE_ORDER`` takes an order from ``tr.prepare``, which may be changed since
    (``dataclasses.replace``), as ``place_orders`` checks it again: half a lot, a price between two
    ticks, or a float (0.1 + 0.2, binary) is ``InvalidOrder`` and the batch sends nothing. Before:
    each went to the venue as it stood, the float as the JSON number 0.30000000000000004."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        r = tr.rules[a.symbol]
        good = tr.prepare(a.symbol, "buy", "limit", r.lot_size * 2, bid - 20 * r.tick_size)
        assert (r.lot_size / 2) % r.lot_size and (bid - r.tick_size / 2) % r.tick_size  # off the grids
        before = len(sim.endpoint(a.venue, 0).exchanges)
        for changed in (
            replace(good, qty=r.lot_size / 2),
            replace(good, price=bid - r.tick_size / 2),
            replace(good, qty=0.1 + 0.2),  # type: ignore[arg-type]
        ):
            try:
                results = await tradefence.batch(tr, [tradefence.CreateOrder(changed)])
            except InvalidOrder:
                continue
            raise AssertionError(f"{changed.qty} at {changed.price} was sent: {results}")
        assert len(sim.endpoint(a.venue, 0).exchanges) == before, "nothing sent"
        assert a.orders(sim) == []
        [made] = await tradefence.batch(tr, [tradefence.CreateOrder(good)])
        assert made.ok and [o.client_id for o in a.orders(sim)] == [good.client_id]

    a.run(body)


def test_a_batch_no_connection_could_take_is_refused_unsent_not_left_unknown() -> None:
    """The venue's REST endpoint refuses connections and the pool's connections are gone: the batch's
    request is written nowhere. It must be refused ``TransportError`` marked unsent with its created
    order withdrawn, as ``place_order``'s is (stop 54) — nothing of it went out, the simulator has no
    order. Before: the unsent error was taken for a lost answer, the order reconciled over the same
    refused connects and the batch raised ``UnknownOutcome``, the order left ``unknown``."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        bid, _ = a.touch(sim)
        r = tr.rules[a.symbol]
        o = tr.prepare(a.symbol, "buy", "limit", r.lot_size * 2, bid - 20 * r.tick_size)
        await sim.endpoint(a.venue, 0).down(2.0)
        await asyncio.sleep(0.1)  # the pool's connections seen closed: none left to write on
        with pytest.raises(TransportError) as got:
            await tradefence.batch(tr, [tradefence.CreateOrder(o)])
        assert was_unsent(got.value), f"not marked unsent: {got.value!r}"
        assert a.orders(sim) == []
        left = [(t.client_id, t.status) for t in tr.tracker]
        assert left == [], f"tracked though never written: {left}"

    a.run(body, timeout=1.0)
