"""Reconciliation against the simulator's own order list when the venue processes an order late (Binance
-1007, "execution status unknown"): the place's request times out, the queries find nothing, and then
the venue has the order after all. The late copy is sent here with the order's own client id, as the
venue's engine would finally take it; the private stream reports it as it would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from session_cases import settle
from template_cases import account
from tickwire.errors import TransportError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


def late(tr: TradingSession, at: Callable[[str], Awaitable[None]]) -> list[str]:
    """Reconciliation's queries answer as the venue did (nothing found), then ``at(client_id)`` runs
    once: the venue processes the order late. The client ids reconciled are returned, as they come."""
    reconcile, seen = tr.reconciler.reconcile, []

    async def then_late(client_id: str) -> Any:
        found = await reconcile(client_id)
        if not seen:
            seen.append(client_id)
            await at(client_id)
        return found

    tr.reconciler.reconcile = then_late  # type: ignore[method-assign]
    return seen


async def place_late(tr: TradingSession, client_id: str) -> None:
    order = tr.tracker.get(client_id)
    assert order is not None
    await tr.send(tr.grammar.new_order(order), "order")


def test_an_ack_heard_while_the_queries_found_nothing_is_the_order_not_a_rejection() -> None:
    a = account()

    async def body(sim: Simulator, tr: TradingSession) -> None:
        async def while_reconciling(cid: str) -> None:
            await place_late(tr, cid)
            await settle(lambda: (o := tr.tracker.get(cid)) is not None and o.status == "new", "the ack")

        seen = late(tr, while_reconciling)
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        o = await a.rest_below(sim, tr, 10)  # before: TransportError "was not placed", the order rejected
        [theirs] = a.orders(sim)
        assert seen == [o.client_id] == [theirs.client_id]
        assert o.status == "new" and o.order_id == str(theirs.id)
        assert [x.client_id for x in tr.tracker.open_orders()] == [o.client_id]

    a.run(body, timeout=0.5)


def test_an_order_found_absent_and_then_processed_late_is_reopened() -> None:
    a = account()
    notes: list[str] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr.tracker.on_anomaly = lambda o, note: notes.append(note)
        seen = late(tr, lambda cid: _nothing())
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        with pytest.raises(TransportError, match="was not placed"):
            await a.rest_below(sim, tr, 10)
        [cid] = seen
        gone = tr.tracker.get(cid)
        assert gone is not None and gone.status == "rejected" and a.orders(sim) == []
        await place_late(tr, cid)  # the venue's engine takes it after all
        # Before: the ack was dropped (rejected is terminal), the live order missing from open_orders.
        await settle(lambda: (o := tr.tracker.get(cid)) is not None and o.status == "new", "reopened")
        [theirs] = a.orders(sim)
        assert [x.client_id for x in tr.tracker.open_orders()] == [cid] == [theirs.client_id]
        assert notes == [f"the venue reported {cid} after reconciliation found no trace of it"]

    a.run(body, timeout=0.5)


def test_the_fills_of_an_order_processed_late_are_counted_once() -> None:
    a = account()
    fills: list[Any] = []

    async def body(sim: Simulator, tr: TradingSession) -> None:
        tr._user_on_fill = fills.append
        seen = late(tr, lambda cid: _nothing())
        sim.endpoint(a.venue, 0).fail(1, timeout=True)
        _, ask = a.touch(sim)
        qty = a.size(tr, ask, 3)
        with pytest.raises(TransportError, match="was not placed"):
            await tr.place_order(a.symbol, "buy", "limit", qty, ask)
        [cid] = seen
        await place_late(tr, cid)  # taken late, and it trades at once
        [theirs] = a.orders(sim)
        assert theirs.fills and not theirs.open
        await settle(lambda: len(fills) >= len(theirs.fills), "every fill")
        o = tr.tracker.get(cid)
        assert o is not None and o.status == "filled" and o.filled == qty
        assert sorted(f.trade_id for f in fills) == sorted(str(f.trade_id) for f in theirs.fills)

    a.run(body, timeout=0.5)


async def _nothing() -> None:
    return None
