"""A client id the user names (``client_id=``) that an earlier order or TWAP of the session already
carried is refused (``InvalidOrder``, nothing sent), however long ago that order ended: Clarofinlore
answers a known client order id with the order (or TWAP) it started — its documented idempotency —
so a second order under the id silently never exists, and the first one's state and fills are taken
for the new one's. Checked against the simulator's own orders, TWAPs and fills."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from test_session_clarofinlore import CLARO, _run
from tickwire.errors import InvalidOrder
from tickwire.sim import Simulator
from tickwire.venues import clarofinlore


def test_a_client_id_of_an_order_the_tracker_forgot_is_refused_not_sent_again() -> None:
    """An IOC buy named ``mine-1`` fills; it ended long enough ago that the tracker forgot it
    (``retain_s``, its clock moved on instead of waiting ten minutes) when another order is placed.
    A new order named ``mine-1`` is then refused before sending (before: sent, answered by the venue
    with the first, filled order — reported as this one, filled — and no second order exists)."""
    heard: list[Any] = []

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        tr._user_on_fill = heard.append
        _, ask = CLARO.touch(sim)
        first = await tr.place_order(CLARO.symbol, "buy", "limit", CLARO.size(tr, ask), ask, tif="IOC",
                                     client_id="mine-1")  # fmt: skip
        assert first.status == "filled"
        later = time.monotonic() + 3600
        tr.tracker.clock = lambda: later
        bid, _ = CLARO.touch(sim)
        low = bid - 50 * tr.rules[CLARO.symbol].tick_size
        await tr.place_order(CLARO.symbol, "buy", "limit", CLARO.size(tr, low), low)  # forgets mine-1
        assert tr.tracker.get("mine-1") is None
        with pytest.raises(InvalidOrder):
            again = await tr.place_order(CLARO.symbol, "buy", "limit", CLARO.size(tr, low), low,
                                         client_id="mine-1")  # fmt: skip
            await asyncio.sleep(0.5)  # its fills, if any, heard
            raise AssertionError(
                f"placed again under mine-1: {again.status}, filled {again.filled}; the simulator holds "
                f"{len(CLARO.orders(sim, 'mine-1'))} order(s) of that id; on_fill heard "
                f"{[f.trade_id for f in heard if f.client_id == 'mine-1']} of it"
            )
        [theirs] = CLARO.orders(sim, "mine-1")
        assert sorted(str(f.trade_id) for f in theirs.fills) == sorted(
            f.trade_id for f in heard if f.client_id == "mine-1"
        )

    _run(body)


def test_a_twap_naming_the_client_id_of_an_earlier_twap_is_refused_not_answered_with_it() -> None:
    """Two TWAPs named ``plan-1``: the second is refused before sending (before: the venue answered
    it with the first — the call returned that TWAP as the new one, which never existed)."""

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        venue = sim.venue(CLARO.venue)
        lot = tr.rules[CLARO.symbol].lot_size
        first = await tr.twap(CLARO.symbol, "buy", 4 * lot, duration_s=0.2, slices=2, client_id="plan-1")
        with pytest.raises(InvalidOrder):
            second = await tr.twap(CLARO.symbol, "sell", 6 * lot, duration_s=0.2, slices=3,
                                   client_id="plan-1")  # fmt: skip
            raise AssertionError(
                f"second TWAP returned {second.twap_id} (the first: {first.twap_id}, {first.side}); "
                f"the simulator holds {len(venue.twap.twaps)} TWAP(s)"  # type: ignore[attr-defined]
            )
        assert len(venue.twap.twaps) == 1  # type: ignore[attr-defined]

    _run(body)
