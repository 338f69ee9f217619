"""Risk counters of a trading session against the simulator's own order list: what a session
refuses as "open or on their way" must be orders the venue holds or may still take."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from test_place_orders import ladder, requests
from test_session_binance import BINANCE
from tickwire.sim import Simulator
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession


def test_a_place_orders_call_cancelled_before_its_orders_went_gives_their_room_back() -> None:
    """Binance spot (no batch request: each order on ``place_order``'s path) under
    ``max_open_orders=3``: a ``place_orders`` call of three cancelled by its caller in the step after
    it started, before any of the three ran. Nothing reached the simulator, so nothing may stay
    counted: three orders go next (before: the three reservations stayed for the session's life and
    every later order was refused "3 orders open or on their way", the simulator holding none)."""
    a = BINANCE

    async def body(sim: Simulator, tr: TradingSession) -> None:
        three = ladder(a, sim, tr, 3)
        call = asyncio.ensure_future(tr.place_orders(three))
        await asyncio.sleep(0)  # the call ran up to its gather; the orders' own tasks not yet
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0.05)
        assert a.place_op not in requests(sim, a) and a.orders(sim) == []
        assert [tr.tracker.get(o.client_id) for o in three] == [None] * 3
        ex = tr.risk.exposure(a.symbol)
        assert (ex["open_orders"], ex["reserved"], ex["account_open_orders"]) == (0, 0, 0), ex
        got = await tr.place_orders(ladder(a, sim, tr, 3))
        assert all(isinstance(r, Order) for r in got), got
        assert len(a.open(sim)) == 3

    a.run(body, risk={"max_open_orders": 3})


def test_a_clarofinlore_twap_cannot_take_the_position_past_max_position() -> None:
    """Clarofinlore under ``max_position`` of 5 lots: a TWAP of 11 lots is refused with nothing sent
    (before: it started, and the simulator's position went to 11 lots — a TWAP's slices are market
    orders the session does not track, so no limit saw them). One of 4 lots goes; once its status
    says it is done, the gate's position is the simulator's, and a buy of 2 lots more is refused."""
    from test_session_clarofinlore import CLARO, KEY, _run
    from tickwire.errors import RiskLimitExceeded
    from tickwire.trading import RiskLimits
    from tickwire.venues import clarofinlore

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        venue = sim.venue(CLARO.venue)
        lot = tr.rules[CLARO.symbol].lot_size
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tr.twap(CLARO.symbol, "buy", 11 * lot, duration_s=0.2, slices=4)
        assert venue.twap.twaps == {} and venue.engine.position(KEY, CLARO.symbol) == 0  # type: ignore[attr-defined]
        t = await tr.twap(CLARO.symbol, "buy", 4 * lot, duration_s=0.1, slices=2)
        while t.running:
            await asyncio.sleep(0.03)
            t = await tr.twap_status(t.twap_id)
        held = venue.engine.position(KEY, CLARO.symbol) * lot  # type: ignore[attr-defined]
        assert t.status == "done" and held == 4 * lot
        assert tr.risk.exposure(CLARO.symbol)["position"] == held
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tr.place_order(CLARO.symbol, "buy", "market", 2 * lot)
        assert venue.engine.position(KEY, CLARO.symbol) * lot == held  # type: ignore[attr-defined]

    _run(body, risk={CLARO.symbol: RiskLimits(max_position=Decimal("0.00005"))})


def test_a_tradefence_position_update_moves_the_position_the_limit_counts() -> None:
    """Tradefence under ``max_position=2``: ``UPDATE_POSITION`` to 2 goes (the venue holds 2, by a
    market order the session did not place), and from then the gate counts the 2 held: a market buy
    of 1 more is refused with nothing sent, the venue's position staying 2. Before, the update's fill
    was never counted (the gate's position stayed 0), the buy went and the venue held 3."""
    from test_session_tradefence import TRADEFENCE as a
    from tickwire.errors import RiskLimitExceeded
    from tickwire.trading import RiskLimits
    from tickwire.venues import tradefence

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine = sim.venue(a.venue).engine
        [moved] = await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, Decimal(2))])
        assert moved.ok and engine.position(a.key, a.symbol) == 2
        assert tr.risk.exposure(a.symbol)["position"] == 2, tr.risk.exposure(a.symbol)
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tr.place_order(a.symbol, "buy", "market", Decimal(1))
        assert engine.position(a.key, a.symbol) == 2
        [back] = await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, Decimal(-1))])
        assert back.ok and engine.position(a.key, a.symbol) == -1
        assert tr.risk.exposure(a.symbol)["position"] == -1, tr.risk.exposure(a.symbol)

    a.run(body, risk=RiskLimits(max_position=Decimal(2)))


def test_a_tradefence_position_update_whose_answer_is_lost_leaves_the_gate_on_the_venues_position() -> None:
    """Tradefence under ``max_position=2``: a batch's ``UPDATE_POSITION`` to 2 runs at the venue and
    its answer is lost (``UnknownOutcome``). The session lists the positions then, and the gate counts
    the 2 the venue holds: a market buy of 1 more is refused with nothing sent. Before (until stop
    46), the gate's position stayed 0, the buy went and the venue held 3."""
    from test_session_tradefence import TRADEFENCE as a
    from tickwire.errors import RiskLimitExceeded, UnknownOutcome
    from tickwire.trading import RiskLimits
    from tickwire.venues import tradefence

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine = sim.venue(a.venue).engine
        sim.endpoint(a.venue, 0).lose_answer("POST /v1/batch")
        with pytest.raises(UnknownOutcome):
            await tradefence.batch(tr, [tradefence.UpdatePosition(a.symbol, Decimal(2))])
        assert engine.position(a.key, a.symbol) == 2
        assert tr.risk.exposure(a.symbol)["position"] == 2, tr.risk.exposure(a.symbol)
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tr.place_order(a.symbol, "buy", "market", Decimal(1))
        assert engine.position(a.key, a.symbol) == 2

    a.run(body, risk=RiskLimits(max_position=Decimal(2)), timeout=0.5)


@pytest.mark.parametrize("how", ["kill", "kill-answer-lost", "kill_switch"])
def test_positions_a_clarofinlore_close_all_flattened_are_flat_for_the_limit(how: str) -> None:
    """Clarofinlore under ``max_position`` of 5 lots, long 4 lots by a tracked market buy. The
    session's kill (``tr.kill``: the venue's close-all) or the venue's kill switch
    (``tr.kill_switch()``) flattens it with market orders of the venue's own: from then the gate's
    position is the simulator's (0), so a sell of 9 lots is refused with nothing sent. Before, the
    closing orders' fills were never counted: the gate still said long 4, the sell went, and the
    simulator's position went to short 9. With the close-all's answer lost (its orders unknown), the
    positions the kill lists again set the gate's (until stop 46 it stayed long 4)."""
    from test_session_clarofinlore import CLARO, KEY, _run
    from tickwire.errors import RiskLimitExceeded
    from tickwire.trading import RiskLimits
    from tickwire.venues import clarofinlore

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        engine = sim.venue(CLARO.venue).engine
        lot = tr.rules[CLARO.symbol].lot_size
        await tr.place_order(CLARO.symbol, "buy", "market", 4 * lot)
        assert engine.position(KEY, CLARO.symbol) == 4
        assert tr.risk.exposure(CLARO.symbol)["position"] == 4 * lot
        if how.startswith("kill-"):
            sim.endpoint(CLARO.venue, 0).lose_answer("POST /v1/positions/close-all")
        if how.startswith("kill"):
            report = await tr.kill("flatten")
            assert report.positions == (), report
            tr.resume()
        else:
            await tr.kill_switch()
        assert engine.position(KEY, CLARO.symbol) == 0
        assert tr.risk.exposure(CLARO.symbol)["position"] == 0, tr.risk.exposure(CLARO.symbol)
        with pytest.raises(RiskLimitExceeded, match="max_position"):
            await tr.place_order(CLARO.symbol, "sell", "market", 9 * lot)
        assert engine.position(KEY, CLARO.symbol) == 0

    lost = {"timeout": 0.5} if how == "kill-answer-lost" else {}  # the lost answer's wait
    _run(body, risk={CLARO.symbol: RiskLimits(max_position=Decimal("0.00005"))}, **lost)


def test_a_tradefence_batch_waiting_for_budget_when_trading_halts_is_never_written() -> None:
    """A Tradefence batch that creates an order is an order path: one waiting for the rate budget
    when trading halts raises ``TradingHalted`` and never reaches the simulator, as ``place_order``
    and a TWAP do (before: it went on the query lane, the halt checked only when it was called, and
    the order was created after the halt)."""
    from test_session_tradefence import TRADEFENCE as a
    from tickwire.errors import TradingHalted
    from tickwire.limits import Limit
    from tickwire.venues import tradefence

    async def body(sim: Simulator, tr: TradingSession) -> None:
        # A window the start's requests are still in (so the batch waits seconds, not a few ms),
        # filled up to the room outside the cancels' reserve.
        tr.budget.set_limits([Limit("REQUESTS", 3, 5.0, "account")], replace=True)
        while tr.budget.try_take({"REQUESTS": 1}, "query") <= 0:
            pass
        bid, _ = a.touch(sim)
        o = tr.prepare(a.symbol, "buy", "limit", Decimal(1), bid - Decimal(3))
        waiting = asyncio.ensure_future(tradefence.batch(tr, [tradefence.CreateOrder(o)]))
        await asyncio.sleep(0.1)
        assert not waiting.done(), waiting  # it waits for room
        tr.halt("runaway")
        with pytest.raises(TradingHalted):
            await waiting
        assert a.orders(sim) == [], a.orders(sim)
        assert tr.risk.exposure(a.symbol)["open_orders"] == 0

    a.run(body)
