"""An amend whose answer never came, on a venue that names no request window (Kraken, Coinbase), with
no private stream: the query of the order's state that follows fails (a 503), so the caller is told
``UnknownOutcome``, and the venue applies the amend a moment later (its request queued). The session
must still learn the new terms — the order asked about again once the venue can no longer act on the
request (where it bounds nothing: ``lost_order_wait_s``), as for a lost cancel — never by a second
amend. Checked against the simulator's own order and the amends it received."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from session_cases import settle
from test_session_coinbase import COINBASE
from test_session_kraken import KRAKEN
from tickwire.errors import UnknownOutcome
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession

CASES = {"kraken": KRAKEN, "coinbase": COINBASE}


@pytest.mark.parametrize("venue", list(CASES))
def test_an_amend_the_venue_applies_after_its_state_query_failed_is_learnt_without_a_private_stream(
    venue: str,
) -> None:
    a = CASES[venue]

    async def body(sim: Simulator, tr: TradingSession) -> None:
        o = await a.rest_below(sim, tr, 50)
        lower = o.price - tr.rules[a.symbol].tick_size
        ep = sim.endpoint(a.venue, 0)
        inst = sim.venue(a.venue).instruments[a.symbol]

        def venue_price() -> Decimal:
            [theirs] = [t for t in a.orders(sim, o.client_id) if t.open]
            return Decimal(theirs.price * inst.tick)

        def after_the_amend_arrived() -> None:
            ep.delay(0.0)  # what follows is not held ...
            ep.fail(1, status=503)  # ... but the state query after the time-out gets a 503

        ep.delay(1.2)  # the amend is handled 1.2 s after it arrives, past the 0.5 s time-out
        asyncio.get_running_loop().call_later(0.3, after_the_amend_arrived)
        with pytest.raises(UnknownOutcome, match="reconciliation failed"):
            await tr.amend_order(a.symbol, client_id=o.client_id, price=lower)
        assert venue_price() == o.price  # not applied yet: the caller was told "not known"
        await settle(lambda: venue_price() == lower, "the venue to apply the queued amend")
        await settle(
            lambda: tr._current(o.client_id).price == lower,
            f"the late amend's terms tracked (tracked price {tr._current(o.client_id).price}, "
            f"the venue {venue_price()})",
            timeout=4.0,
        )
        assert [op for _, op, _, _ in ep.exchanges].count(a.amend_op) == 1  # never a second amend
        assert not tr.tracker._recs[o.client_id].amending

    a.run(body, timeout=0.5, private_stream=False, lost_order_wait_s=1.5)
