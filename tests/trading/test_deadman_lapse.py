"""The dead-man switch when its refreshes fail for longer than its countdown, checked against the
simulator's own switch and order list."""

from __future__ import annotations

import asyncio

import pytest
from kill_cases import on_two_symbols, open_at_venue, run
from session_cases import settle
from test_deadman import switch
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession
from tickwire.venues import okx


def test_a_countdown_that_ran_out_while_its_refreshes_failed_is_noticed_and_the_orders_reconciled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OKX, a 1 s countdown (its 10 s minimum lowered on both sides, as in ``test_deadman``), no
    private stream. The venue answers every refresh with a 503 for
    about two seconds: the countdown runs out and the venue cancels both orders; then the refreshes go
    through again. The session knows its countdown went unrefreshed for longer than itself, so it
    cannot take its orders to be open: it asks about them, and ends with the simulator's (canceled),
    the lapse audited (before: the tracker kept both open for the session's life, a ``cancel_all``
    or a risk limit counting orders the venue no longer had, and once a refresh went through
    ``health()`` said nothing was failing)."""
    venue = "okx"
    monkeypatch.setattr(okx.Orders, "dead_man_range", (1.0, 120.0))

    async def body(sim: Simulator, tr: TradingSession) -> None:
        events: list[str] = []
        audit_event = tr.audit.event

        def spy(kind: str, **kw: object) -> None:
            events.append(kind)
            audit_event(kind, **kw)

        tr.audit.event = spy  # type: ignore[method-assign]
        placed = await on_two_symbols(sim, tr, each=1)
        assert tr.dead_man is not None
        sim.endpoint(venue, 0).fail(9, status=503)  # only refreshes go meanwhile: ~2 s of them
        await settle(lambda: switch(sim, venue).fired != [], "the venue's countdown to run out", 4)
        assert open_at_venue(sim, venue) == []
        failures = tr.dead_man.failures
        await settle(lambda: tr.dead_man.refreshes and tr.dead_man.failing == 0, "a refresh through", 4)
        assert failures >= 3
        await asyncio.sleep(0.5)
        left = [o.client_id for o in tr.tracker.open_orders()]
        assert left == [], f"the venue cancelled {[o.client_id for o in placed]}; tracked open: {left}"
        assert "dead_man_lapsed" in events, events

    run(venue, body, {"dead_man_min_s": 1.0}, dead_man=1.0, private_stream=False)
