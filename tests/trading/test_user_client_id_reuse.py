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
from tickwire.trading import tracker
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


def test_the_twap_ids_kept_against_reuse_are_the_newest_not_every_one_of_the_sessions_life(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The client ids of TWAPs started are kept to refuse a reuse as the tracker keeps forgotten
    orders' (the newest ``tracker.MAX_GONE``, made 40 here): 120 TWAPs, each ended and read ended,
    leave 40 ids, not 120 — a bot starting TWAPs for days kept every id (before: one per TWAP, for the
    session's life) — and a reuse of a recent one is still refused, nothing sent."""
    monkeypatch.setattr(tracker, "MAX_GONE", 40)

    async def body(sim: Simulator, tr: clarofinlore.Session) -> None:
        venue = sim.venue(CLARO.venue)
        lot = tr.rules[CLARO.symbol].lot_size
        for i in range(120):
            t = await tr.twap(CLARO.symbol, "buy" if i % 2 else "sell", lot, duration_s=0.01, slices=1,
                              client_id=f"plan-{i}")  # fmt: skip
            await asyncio.sleep(0.02)  # its one slice sent
            assert not (await tr.twap_status(t.twap_id)).running
        assert len(venue.twap.twaps) == 120 and not tr._twaps  # type: ignore[attr-defined]
        assert len(tr._twap_ids) <= 40, f"{len(tr._twap_ids)} TWAP ids kept after 120 TWAPs"
        with pytest.raises(InvalidOrder):
            await tr.twap(CLARO.symbol, "buy", lot, duration_s=0.01, slices=1, client_id="plan-119")
        assert len(venue.twap.twaps) == 120  # type: ignore[attr-defined]

    _run(body)
