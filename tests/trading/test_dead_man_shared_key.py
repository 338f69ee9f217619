"""Two sessions of one process on one key, each with the venue's dead-man switch armed: the countdown
is the account's (Kraken, OKX) or the symbol's (Binance USDⓈ-M), so one session's clean close must
not leave the other's orders without it. Checked against the simulator's own switch and order list."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from kill_cases import ACCOUNTS, SYMBOLS, funded, open_at_venue, rest_buy, trade
from session_cases import settle
from tickwire.trading.session import TradingSession
from tickwire.venues import okx


async def die(tr: TradingSession) -> None:
    """What a killed process leaves of a session: no refresh, no disarm, its connection gone."""
    assert tr.dead_man is not None
    tr.dead_man.stop()
    await tr.wire.close()


@pytest.mark.parametrize(("venue", "timeout_s"), [("kraken", 2.0), ("okx", 2.0), ("binance-usdm", 1.2)])
def test_one_sessions_clean_close_leaves_the_others_countdown_armed(
    venue: str, timeout_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions ``a`` and ``b`` share a key, both with ``dead_man`` and an order on one symbol. ``a``
    closes cleanly; right after (before ``b``'s next refresh) the process dies. The venue must still
    cancel ``b``'s order when the countdown runs out (before: ``a``'s disarm stopped the countdown
    ``b`` relied on, and ``b``'s order rested with nothing behind it); ``a``'s, left by a clean close,
    is cancelled with it only because the countdown is the account's."""
    monkeypatch.setattr(okx.Orders, "dead_man_range", (1.0, 120.0))
    _, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]
    profile = {"dead_man_min_s": 1.0} if venue == "okx" else {}

    async def go() -> None:
        async with funded(venue, profile=profile) as sim:
            urls = sim.urls()[venue]
            kw = {"credentials": signer, "endpoints": urls, "dead_man": timeout_s}
            b = await trade(venue, strategy="b", **kw).__aenter__()
            try:
                async with trade(venue, strategy="a", **kw) as a:
                    await rest_buy(sim, a, symbol, 30)
                    mine = await rest_buy(sim, b, symbol, 31)
                    assert b.dead_man is not None
                    before = b.dead_man.refreshes
                    # Just after b's refresh: a's close and b's death come before the next one.
                    await settle(
                        lambda: b.dead_man is not None and b.dead_man.refreshes > before, "a refresh"
                    )
                    refreshed = b.dead_man.refreshes
                await die(b)
                assert b.dead_man.refreshes == refreshed, "b refreshed between a's close and its death"
                await settle(
                    lambda: all(o.client_id != mine.client_id for o in open_at_venue(sim, venue)),
                    "the venue's countdown to cancel b's order",
                    timeout_s * 3,
                )
            finally:
                with contextlib.suppress(Exception):
                    await b.close(disarm=False)

    asyncio.run(go())


@pytest.mark.parametrize("venue", ["kraken", "binance-usdm"])
def test_a_clean_close_leaves_a_countdown_a_session_left_by_an_exception_counts_on(venue: str) -> None:
    """``b`` is left by an exception (``close(disarm=False)``: its countdown is to cancel its
    orders); ``a`` closes cleanly before the countdown has run out. The venue still cancels ``b``'s
    order (before: ``a``'s disarm stopped it, and ``b``'s order rested)."""
    _, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]
    timeout_s = 2.0

    async def go() -> None:
        async with funded(venue) as sim:
            kw = {"credentials": signer, "endpoints": sim.urls()[venue], "dead_man": timeout_s}
            async with trade(venue, strategy="a", **kw) as a:
                with contextlib.suppress(RuntimeError):
                    async with trade(venue, strategy="b", **kw) as b:
                        mine = await rest_buy(sim, b, symbol, 31)
                        raise RuntimeError("the strategy crashed")
                await rest_buy(sim, a, symbol, 30)
            await settle(
                lambda: all(o.client_id != mine.client_id for o in open_at_venue(sim, venue)),
                "the venue's countdown to cancel b's order",
                timeout_s * 3,
            )

    asyncio.run(go())


@pytest.mark.parametrize("venue", ["kraken", "binance-usdm"])
def test_sessions_closing_together_leave_no_countdown_armed(venue: str) -> None:
    """Both sessions close cleanly at once, each possibly counting on the other's keeping the
    countdown: the last word at the venue is a disarm, and their orders stay."""
    key, signer, _ = ACCOUNTS[venue]
    symbol = SYMBOLS[venue][0]
    timeout_s = 1.0

    async def go() -> None:
        async with funded(venue) as sim:
            kw = {"credentials": signer, "endpoints": sim.urls()[venue], "dead_man": timeout_s}
            a = await trade(venue, strategy="a", **kw).__aenter__()
            b = await trade(venue, strategy="b", **kw).__aenter__()
            await rest_buy(sim, a, symbol, 30)
            await rest_buy(sim, b, symbol, 31)
            await asyncio.gather(a.close(), b.close())
            v = sim.venue(venue)
            switch = v.futures_orders.dead_man if venue == "binance-usdm" else v.trade.dead_man  # type: ignore[attr-defined]
            assert not switch.armed(key), switch.armed(key)
            await asyncio.sleep(timeout_s * 2.5)
            assert len(open_at_venue(sim, venue)) == 2 and switch.fired == []

    asyncio.run(go())
