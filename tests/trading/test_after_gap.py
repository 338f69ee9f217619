"""What a private stream's return runs (:mod:`tickwire.trading.after_gap`), on the simulator: the
orders whose queries kept failing asked about later, by one task each."""

from __future__ import annotations

import asyncio

import pytest
from test_session_okx import OKX
from tickwire.errors import TransportError
from tickwire.sim import Simulator
from tickwire.trading import after_gap
from tickwire.trading.orders import Order
from tickwire.trading.session import TradingSession


def test_an_order_whose_queries_keep_failing_is_asked_about_later_by_one_task(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The private stream returns twice while the venue refuses every query (a REST outage, a rate
    ban), and an acknowledged call's state query about the same order failed meanwhile
    (``ask_later``): each of the three leaves the order to be asked about later. One task asks;
    three asking at once would triple the queries — against the budget of a venue that is refusing
    them — and a stream flapping through a long outage would add one more per return, each asking
    on until the order settles. Before, every return spawned its own (3 tasks asking)."""
    monkeypatch.setattr(after_gap, "AWAY_RETRY_S", 0.0)
    monkeypatch.setattr(after_gap, "LATER_S", (0.05,))
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50)
        rec = tr.reconciler
        askers: set[asyncio.Task[object] | None] = set()

        async def refused(client_id: str) -> Order | None:
            if asyncio.current_task() is not me:
                askers.add(asyncio.current_task())
            raise TransportError(f"{a.venue}: 503 on the state query of {client_id}")

        me = asyncio.current_task()
        rec.reconcile = refused  # type: ignore[method-assign]
        await rec.reconcile_open()  # the stream's first return: every round fails
        await rec.reconcile_open()  # ... and its second
        rec.ask_later(o.client_id)  # an acknowledged cancel's state query failed too
        await asyncio.sleep(0.4)
        assert len(askers) == 1, f"{len(askers)} tasks asking about {o.client_id}"

    a.run(body, private_stream=False, timeout=0.5)
