"""A trading bot that restarts mid-trading (a fault review by a helper session): what the restarted run
adopts, counts and reports, against the simulator's own order list and switches. Each case failed on
the code before its fix."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tickwire
from kill_cases import ACCOUNTS, SYMBOLS, funded, open_at_venue, rest_buy
from session_cases import settle
from tickwire.errors import TickwireError
from tickwire.venues import okx


def test_a_restarted_okx_strategy_leaves_alone_the_orders_of_one_whose_prefix_begins_with_its_own() -> None:
    """OKX's ``clOrdId`` has no separator, so ``mm`` and ``mm2`` ids differ by nothing but where the
    prefix ends. ``mm`` and ``mm2`` each rest a buy on one key and stop; ``mm`` restarts and must
    adopt its own order only (before: ``mm2``'s too — tracked, counted against ``mm``'s open-order
    limit, its fills reported to ``mm``'s ``on_fill``, ``ClientIds.owns`` taking every id ``mm2``
    makes for one of ``mm``'s)."""
    _, signer, _ = ACCOUNTS["okx"]
    symbol = SYMBOLS["okx"][0]

    async def go() -> None:
        async with funded("okx") as sim:
            urls = sim.urls()["okx"]
            async with tickwire.trade("okx", credentials=signer, endpoints=urls, strategy="mm") as tr:
                mine = await rest_buy(sim, tr, symbol, 20)
            async with tickwire.trade("okx", credentials=signer, endpoints=urls, strategy="mm2") as tr:
                theirs = await rest_buy(sim, tr, symbol, 30)
            at_venue = {o.client_id for o in open_at_venue(sim, "okx")}
            assert at_venue == {mine.client_id, theirs.client_id}, at_venue
            async with tickwire.trade("okx", credentials=signer, endpoints=urls, strategy="mm") as tr:
                adopted = sorted(o.client_id for o in tr.tracker.open_orders())
                assert adopted == [mine.client_id], f"mm adopted {adopted}; mm2's is {theirs.client_id}"
                assert tr.risk.exposure(symbol)["open_orders"] == 1

    asyncio.run(go())


def _usdm_switch(sim: Any) -> Any:
    return sim.venue("binance-usdm").futures_orders.dead_man


def test_one_dead_man_refresh_left_unanswered_does_not_let_the_venue_cancel_a_live_sessions_orders() -> None:
    """A refresh is due every quarter of the countdown, so two may fail before the venue fires. One
    refresh request is never answered and the session's request time-out is over half the countdown
    (0.6 s of 1 s here; OKX's 10 s minimum against the default 5 s time-out is the same ratio): the
    next refresh must still come in time (before: it waited for the lost one's time-out and then a
    whole quarter more, the countdown ran out, and the simulator cancelled the live session's order)."""
    _, signer, _ = ACCOUNTS["binance-usdm"]

    async def go() -> None:
        async with funded("binance-usdm") as sim:
            urls = sim.urls()["binance-usdm"]
            async with tickwire.trade(
                "binance-usdm", credentials=signer, endpoints=urls, strategy="mm", dead_man=1.0, timeout=0.6
            ) as tr:
                o = await rest_buy(sim, tr, "BTCUSDT")
                sim.endpoint("binance-usdm", 0).fail(1, timeout=True)  # the next request: a refresh
                await asyncio.sleep(1.6)
                assert tr.dead_man is not None and tr.dead_man.failures == 1
                assert _usdm_switch(sim).fired == [], _usdm_switch(sim).fired
                assert [x.client_id for x in open_at_venue(sim, "binance-usdm")] == [o.client_id]

    asyncio.run(go())


def test_dead_man_refreshes_the_venue_refuses_show_in_health() -> None:
    """Two refreshes answered with a 503 in a row: the switch is a refresh from firing on every open
    order, and ``health()`` — what a monitor reads — says so, and says when a refresh goes through
    again (before: a log line and an audit event only; ``health()`` named no dead-man switch)."""
    _, signer, _ = ACCOUNTS["binance-usdm"]

    async def go() -> None:
        async with funded("binance-usdm") as sim:
            urls = sim.urls()["binance-usdm"]
            async with tickwire.trade(
                "binance-usdm", credentials=signer, endpoints=urls, strategy="mm", dead_man=2.0
            ) as tr:
                await rest_buy(sim, tr, "BTCUSDT")
                assert tr.health().get("dead_man_failing") == 0, "health() names no dead-man switch"
                sim.endpoint("binance-usdm", 0).fail(2, status=503)  # the next two: refreshes
                await settle(lambda: tr.dead_man is not None and tr.dead_man.failures == 2, "two refreshes")
                h = tr.health()
                assert (h.get("dead_man_failures"), h.get("dead_man_failing")) == (2, 2), h
                await settle(lambda: tr.health().get("dead_man_failing") == 0, "a refresh that goes through")
                assert _usdm_switch(sim).fired == [] and len(open_at_venue(sim, "binance-usdm")) == 1
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls) as tr:
                assert tr.health().get("dead_man_failures", "absent") is None  # no switch armed

    asyncio.run(go())


@pytest.mark.parametrize("fault", ["instruments", "arming"])
def test_a_restart_whose_start_fails_leaves_the_earlier_runs_countdown_to_cancel_its_orders(
    fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 1 (OKX, account-wide ``cancel-all-after``) dies with a buy resting: its countdown is to
    cancel it. Run 2's start fails — the instrument rules answered with a 503 before it armed
    anything, or its own arming's answer lost — and the bot is left with no session: the venue's
    countdown must still cancel run 1's order (before: the failed start's close disarmed the account's
    switch, and the order rested with no process and no switch behind it)."""
    monkeypatch.setattr(okx.Orders, "dead_man_range", (1.0, 120.0))
    key, signer, _ = ACCOUNTS["okx"]

    async def go() -> None:
        async with funded("okx", profile={"dead_man_min_s": 1.0}) as sim:
            urls = sim.urls()["okx"]
            with pytest.raises(RuntimeError):
                async with tickwire.trade(
                    "okx", credentials=signer, endpoints=urls, strategy="mm", dead_man=1.0
                ) as tr:
                    left = await rest_buy(sim, tr, SYMBOLS["okx"][0])
                    raise RuntimeError("killed")
            ep = sim.endpoint("okx", 0)
            if fault == "arming":
                ep.lose_answer("POST /api/v5/trade/cancel-all-after")
            else:
                ep.fail(2, status=503)  # the venue clock (the start goes on without it), the rules
            with pytest.raises(TickwireError):
                await tickwire.trade(
                    "okx", credentials=signer, endpoints=urls, strategy="mm", dead_man=1.0, timeout=0.5
                ).start()
            assert [o.client_id for o in open_at_venue(sim, "okx")] == [left.client_id]
            switch = sim.venue("okx").trade.dead_man
            await settle(lambda: not open_at_venue(sim, "okx"), f"the countdown ({switch.armed(key)})", 2.0)
            assert [f.cancelled for f in switch.fired] == [1]

    asyncio.run(go())
