"""Quote rules whose order's fate is unknown, against the simulator's own order list: a lost answer,
a loaded connection the venue closed, a tick racing that close, a write that raises. Each order is
reconciled (found at the venue, or proved absent), never written again, and the rule goes on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from quote_cases import ioc, moves, run
from session_cases import settle
from template_cases import SYMBOL, account
from tickwire.errors import TransportError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


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
    into a dead connection. It is tracked, found absent at the venue once its ``recvWindow`` (1 s
    here) has passed — not after the request's 10 s time-out — never resent, and the rule goes on."""
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
        # Settled by reconciliation's queries and the request's window, not its 10 s time-out.
        assert asyncio.get_running_loop().time() - started < 3.0
        [lost] = [o for o in tr.tracker if o.status == "rejected"]
        assert not a.orders(sim, lost.client_id)
        await moves(sim, q, 2)
        assert len(a.orders(sim)) == 3 and q.sent == 4 and q.error is None

    run(body, recv_window=1000, timeout=10.0)


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

    run(body, recv_window=1000)  # an absent order is called so once its request's window passed


def test_a_rule_whose_order_waits_the_sessions_guess_goes_on_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a venue that bounds no request's life (here Binance with its window taken away), a rule's
    order that never reached the venue is called "not placed" only after the session's
    ``lost_order_wait_s`` (5 s). The rule does not wait that out — it never resends, and its next
    order is a new one —: it goes on once the queries found no trace, as before the wait existed
    (before this: its next order came only after the 5 s). The venue holds only the second order."""
    from tickwire.venues.binance.orders import Orders

    monkeypatch.setattr(Orders, "request_window_ms", None)
    a = account()

    async def body(sim: Simulator, md: Any, tr: TradingSession, seen: list[tuple[int, int, int]]) -> None:
        assert tr.request_window_s() is None
        q = ioc(tr, md)
        sim.endpoint("binance", 0).fail(1, timeout=True)  # the first order never reaches the venue
        sim.advance(1, "binance", SYMBOL)
        await settle(lambda: q.sent == 1, "the first order")
        first, started = q.last, asyncio.get_running_loop().time()
        assert first is not None
        await moves(sim, q, 1)
        took = asyncio.get_running_loop().time() - started
        assert took < 3.5, took  # its time-out (0.5 s) and the queries, not the 5 s wait
        assert not first.done()  # the first still waits for its verdict
        with pytest.raises(TransportError, match="not placed"):
            await first
        assert q.sent == 2 and len(a.orders(sim)) == 1  # nothing resent; the first never there

    run(body, timeout=0.5, lost_order_wait_s=5.0)
