"""The venues' dead-man switches (``trading/deadman.py``: ``dead_man=`` on ``tickwire.trade``)
against the simulator, checked against its own order list: the venue cancels a dead session's orders
after the countdown, a clean close disarms it, and orders die with a process killed with SIGKILL.

Countdowns are short here: Binance USDⓈ-M documents no minimum (0.6 s is used), Kraken counts whole
seconds (1 s), and OKX's documented minimum of 10 s is lowered to 1 s on both sides for speed — the
simulator's by profile (``dead_man_min_s``), the grammar's ``dead_man_range`` by monkeypatch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import tickwire
from kill_cases import (
    ACCOUNTS,
    FAST_COUNTDOWNS,
    KRAKEN_SECRET,
    SYMBOLS,
    funded,
    on_two_symbols,
    open_at_venue,
    requests,
    rest_buy,
    run,
)
from session_cases import settle
from tickwire.errors import NotSupported, RiskLimitExceeded, TickwireError, TransportError
from tickwire.sim import Simulator
from tickwire.sim.market import BID
from tickwire.trading.session import TradingSession
from tickwire.venues import binance, bybit, kraken, okx

# dead-man switches ---------------------------------------------------------------------------------


def switch(sim: Simulator, venue: str) -> Any:
    v: Any = sim.venue(venue)
    return v.futures_orders.dead_man if venue == "binance-usdm" else v.trade.dead_man


async def die(tr: TradingSession) -> None:
    """What a killed process leaves: no refresh, no disarm, its connection gone."""
    assert tr.dead_man is not None
    tr.dead_man.stop()
    await tr.wire.close()


@pytest.mark.parametrize(("venue", "timeout_s"), [("binance-usdm", 0.6), ("kraken", 1.0), ("okx", 1.0)])
def test_the_venue_cancels_a_dead_sessions_orders_after_the_countdown(
    venue: str, timeout_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(okx.Orders, "dead_man_range", (1.0, 120.0))

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        key = ACCOUNTS[venue][0]
        armed = switch(sim, venue).armed(key)
        assert set(armed) == (set(SYMBOLS[venue]) if venue == "binance-usdm" else {None})
        await asyncio.sleep(timeout_s * 2.5)  # alive: refreshed, nothing fired
        assert len(open_at_venue(sim, venue)) == 2 and switch(sim, venue).fired == []
        assert tr.dead_man is not None and tr.dead_man.refreshes >= 2
        await die(tr)
        await settle(lambda: not open_at_venue(sim, venue), "the venue's countdown", timeout_s * 3)
        assert sum(f.cancelled for f in switch(sim, venue).fired) == 2

    run(venue, body, {"dead_man_min_s": 1.0} if venue == "okx" else {}, dead_man=timeout_s)


def test_a_refresh_under_way_at_a_clean_close_lands_before_the_disarm() -> None:
    """Binance USDⓈ-M: the session closes while a refresh of the countdown is at the venue (slow to
    answer it). The close's disarm goes once the refresh is answered, so the venue takes them in that
    order: the countdown ends disarmed and nothing fires on the order left open (before: the close
    cancelled the refresh and sent the disarm at once on another kept-alive connection; the venue
    disarmed, then took the refresh, armed the countdown again, and fired on the order after the close)."""

    async def go() -> None:
        key, signer, _ = ACCOUNTS["binance-usdm"]
        countdown = "POST /fapi/v1/countdownCancelAll"
        async with funded("binance-usdm") as sim:
            urls, ep = sim.urls()["binance-usdm"], sim.endpoint("binance-usdm", 0)
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, dead_man=0.6) as tr:
                await rest_buy(sim, tr, "ETHUSDT", 40)
                assert set(switch(sim, "binance-usdm").armed(key)) == {"ETHUSDT"}
                ep.delay(0.4)
                await settle(lambda: countdown in ep.handling(), "a refresh at the venue")
                ep.delay(0)
            armed = switch(sim, "binance-usdm").armed(key)
            assert armed == {}, f"armed after the close: {armed}"
            await asyncio.sleep(0.6 * 2)  # a countdown armed again after the disarm would have fired
            fired, left = switch(sim, "binance-usdm").fired, open_at_venue(sim, "binance-usdm")
            assert fired == [] and len(left) == 1, f"fired after the close: {fired}; orders left open: {left}"

    asyncio.run(go())


def test_a_countdown_armed_by_a_call_its_caller_cancelled_is_refreshed_and_disarmed() -> None:
    """Binance USDⓈ-M arms a symbol's countdown before its first order there. The venue is slow to
    handle that request and the caller gives up on the order meanwhile: the venue arms the countdown
    all the same, so the session keeps it refreshed while it lives (nothing fires: another program's
    order on that symbol stays) and disarms it at a clean close (before: never refreshed, it fired
    and cancelled that order while the session was alive)."""

    async def go() -> None:
        key, signer, _ = ACCOUNTS["binance-usdm"]
        async with funded("binance-usdm") as sim:
            urls, ep = sim.urls()["binance-usdm"], sim.endpoint("binance-usdm", 0)
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, dead_man=0.6) as tr:
                v = sim.venue("binance-usdm")
                book = v.engine.books["ETHUSDT"]
                bid = book.side(BID).best()
                assert bid is not None
                # Another program's order on the key, resting 40 ticks under the best bid.
                v.engine.place(
                    key,
                    "ETHUSDT",
                    BID,
                    "LIMIT",
                    book.inst.min_lots * 10,
                    bid - 40,
                    "GTC",
                    "other-1",
                    ep.now_ms(),
                )
                ep.delay(0.3)
                placing = asyncio.ensure_future(rest_buy(sim, tr, "ETHUSDT", 40))
                countdown = "POST /fapi/v1/countdownCancelAll"
                await settle(lambda: countdown in ep.handling(), "the countdown's request at the venue")
                ep.delay(0)
                placing.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await placing
                await asyncio.sleep(0.6 * 3)
                assert (
                    switch(sim, "binance-usdm").fired == [] and len(open_at_venue(sim, "binance-usdm")) == 1
                )
                assert set(switch(sim, "binance-usdm").armed(key)) == {"ETHUSDT"}
            assert switch(sim, "binance-usdm").armed(key) == {}

    asyncio.run(go())


def test_orders_on_a_new_symbol_at_once_share_one_arming_of_its_countdown() -> None:
    """Three orders on ETHUSDT placed at once, none there before: the venue gets one
    ``countdownCancelAll`` for the symbol, not one per order (before: three), and all three are
    placed, the symbol armed."""

    async def go() -> None:
        key, signer, _ = ACCOUNTS["binance-usdm"]
        async with funded("binance-usdm") as sim:
            urls = sim.urls()["binance-usdm"]
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, dead_man=30) as tr:
                countdown = "POST /fapi/v1/countdownCancelAll"
                before = requests(sim, "binance-usdm").count(countdown)
                got = await asyncio.gather(*(rest_buy(sim, tr, "ETHUSDT", 40 + i) for i in range(3)))
                assert requests(sim, "binance-usdm").count(countdown) == before + 1
                assert len({o.client_id for o in got}) == 3 and len(open_at_venue(sim, "binance-usdm")) == 3
                assert set(switch(sim, "binance-usdm").armed(key)) == {"ETHUSDT"}

    asyncio.run(go())


async def _other_order_and_a_session(sim: Simulator) -> TradingSession:
    """Another program's ETHUSDT buy resting 40 ticks under the bid on the USDⓈ-M key, and a started
    session on that key with a 0.6 s dead-man countdown (closed by the caller)."""
    key, signer, _ = ACCOUNTS["binance-usdm"]
    v = sim.venue("binance-usdm")
    book = v.engine.books["ETHUSDT"]
    bid = book.side(BID).best()
    assert bid is not None
    now = sim.endpoint("binance-usdm", 0).now_ms()
    v.engine.place(key, "ETHUSDT", BID, "LIMIT", book.inst.min_lots * 10, bid - 40, "GTC", "other-1", now)
    urls = sim.urls()["binance-usdm"]
    return await tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, dead_man=0.6).__aenter__()


def test_a_countdown_being_armed_as_the_session_closes_is_disarmed_with_the_others() -> None:
    """The venue is slow to take a new symbol's arming request and the session closes meanwhile:
    the close waits for that request before disarming, so the venue holds no countdown afterwards
    and nothing fires on the order left (before: the arming landed after the disarm, and the
    countdown fired 0.6 s later, cancelling another program's order)."""

    async def go() -> None:
        key = ACCOUNTS["binance-usdm"][0]
        async with funded("binance-usdm") as sim:
            ep = sim.endpoint("binance-usdm", 0)
            tr = await _other_order_and_a_session(sim)
            ep.delay(0.3)
            placing = asyncio.ensure_future(rest_buy(sim, tr, "ETHUSDT", 40))
            countdown = "POST /fapi/v1/countdownCancelAll"
            await settle(lambda: countdown in ep.handling(), "the countdown's request at the venue")
            ep.delay(0)
            await tr.close()
            with contextlib.suppress(Exception):
                await placing
            await asyncio.sleep(0.6 * 3)
            assert switch(sim, "binance-usdm").armed(key) == {} and switch(sim, "binance-usdm").fired == []
            assert [o.client_id for o in open_at_venue(sim, "binance-usdm")] == ["other-1"]

    asyncio.run(go())


def test_a_batch_arming_its_next_symbol_as_the_session_closes_leaves_no_countdown_armed() -> None:
    """``place_orders`` on two symbols new to the session arms them one after the other. The venue is
    slow and the session closes while the first symbol's arming is under way: the close waits for it
    and disarms; the batch must not arm its second symbol after that wait (the session refuses its
    orders anyway). Afterwards the venue holds no countdown and another program's order on the second
    symbol is still there after the countdown would have run out (before: the second symbol was armed
    after the close's wait, never disarmed, and the venue cancelled that order)."""

    async def go() -> None:
        key = ACCOUNTS["binance-usdm"][0]
        async with funded("binance-usdm") as sim:
            ep = sim.endpoint("binance-usdm", 0)
            tr = await _other_order_and_a_session(sim)
            orders = []
            for symbol in ("BTCUSDT", "ETHUSDT"):
                r = tr.rules[symbol]
                price = sim.book("binance-usdm", symbol).bids[0][0] - 40 * r.tick_size
                orders.append(tr.prepare(symbol, "buy", "limit", r.min_qty * 100, price))
            ep.delay(0.3)
            placing = asyncio.ensure_future(tr.place_orders(orders))
            countdown = "POST /fapi/v1/countdownCancelAll"
            await settle(lambda: countdown in ep.handling(), "the first symbol's arming at the venue")
            await tr.close()
            with contextlib.suppress(Exception):
                await placing
            ep.delay(0)
            await asyncio.sleep(0.6 * 3)
            dm = switch(sim, "binance-usdm")
            assert dm.fired == [] and dm.armed(key) == {}, f"fired after the close: {dm.fired}"
            assert [o.client_id for o in open_at_venue(sim, "binance-usdm")] == ["other-1"]

    asyncio.run(go())


def test_a_template_order_whose_arming_answer_is_lost_is_not_reconciled_as_written() -> None:
    """A template's first order on a new USDⓈ-M symbol waits for the symbol's countdown to be armed,
    and that arming's answer is lost: the order was never written, so it is refused as unsent and not
    tracked — no order request at the venue, no status query asked about it — while the symbol counts
    as armed (the arming may have landed) and is disarmed at the close (before: the order was tracked
    and reconciled as if it had gone out, its status asked about)."""

    async def go() -> None:
        key, signer, _ = ACCOUNTS["binance-usdm"]
        async with funded("binance-usdm") as sim:
            urls, ep = sim.urls()["binance-usdm"], sim.endpoint("binance-usdm", 0)
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, dead_man=30) as tr:
                r = tr.rules["ETHUSDT"]
                price = sim.book("binance-usdm", "ETHUSDT").bids[0][0] - 40 * r.tick_size
                tmpl = tr.template("ETHUSDT", "buy")
                ep.lose_answer("POST /fapi/v1/countdownCancelAll")
                with pytest.raises(TransportError):
                    await tmpl.send(price, r.min_qty * 100)
                ops = requests(sim, "binance-usdm")
                assert "POST /fapi/v1/order" not in ops and "GET /fapi/v1/order" not in ops, ops
                assert tr.tracker.open_orders() == [] and tr.risk.exposure("ETHUSDT")["open_orders"] == 0
                assert tr.dead_man is not None and "ETHUSDT" in tr.dead_man.armed
            assert switch(sim, "binance-usdm").armed(key) == {}

    asyncio.run(go())


def test_an_arming_answered_with_a_5xx_counts_as_armed_and_is_disarmed_at_the_close() -> None:
    """A 5xx leaves a request's fate unknown (Binance: "could have been a success"). A new symbol's
    arming answered so may have armed its countdown: the order waiting on it is refused unsent, and
    the symbol counts as armed — refreshed, and disarmed at the close (before: forgotten, so a
    countdown the venue had armed would fire on the symbol's orders after a clean close)."""

    async def go() -> None:
        key, signer, _ = ACCOUNTS["binance-usdm"]
        async with funded("binance-usdm") as sim:
            urls, ep = sim.urls()["binance-usdm"], sim.endpoint("binance-usdm", 0)
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, dead_man=30) as tr:
                ep.fail(1, status=503)
                with pytest.raises(TickwireError) as e:
                    await rest_buy(sim, tr, "ETHUSDT", 40)
                assert "POST /fapi/v1/order" not in requests(sim, "binance-usdm"), e.value
                assert tr.dead_man is not None and "ETHUSDT" in tr.dead_man.armed, e.value
                closing = requests(sim, "binance-usdm").count("POST /fapi/v1/countdownCancelAll")
            assert requests(sim, "binance-usdm").count("POST /fapi/v1/countdownCancelAll") == closing + 1
            assert switch(sim, "binance-usdm").armed(key) == {}

    asyncio.run(go())


def test_a_clean_close_disarms_the_switch_and_leaves_the_orders() -> None:
    async def go() -> None:
        key, signer, _ = ACCOUNTS["binance-usdm"]
        async with funded("binance-usdm") as sim:
            urls = sim.urls()["binance-usdm"]
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, dead_man=0.5) as tr:
                await rest_buy(sim, tr, "BTCUSDT")
                assert set(switch(sim, "binance-usdm").armed(key)) == {"BTCUSDT"}
            assert switch(sim, "binance-usdm").armed(key) == {}
            await asyncio.sleep(1.0)
            assert len(open_at_venue(sim, "binance-usdm")) == 1 and switch(sim, "binance-usdm").fired == []

    asyncio.run(go())


def test_a_session_left_by_an_exception_leaves_the_countdown_to_cancel_its_orders() -> None:
    """The strategy raises inside ``async with``: the process is about to die with its order open, and
    the venue's countdown — no longer refreshed, not disarmed — cancels it (before: ``__aexit__``
    disarmed it as for a clean close, and the order stayed open at the venue)."""

    async def go() -> None:
        signer = ACCOUNTS["binance-usdm"][1]
        async with funded("binance-usdm") as sim:
            urls = sim.urls()["binance-usdm"]
            with pytest.raises(RuntimeError, match="crashed"):
                async with tickwire.trade(
                    "binance-usdm", credentials=signer, endpoints=urls, dead_man=0.5
                ) as tr:
                    await rest_buy(sim, tr, "BTCUSDT")
                    raise RuntimeError("the strategy crashed")
            assert len(open_at_venue(sim, "binance-usdm")) == 1
            await settle(lambda: not open_at_venue(sim, "binance-usdm"), "the venue's countdown", 2.0)
            assert sum(f.cancelled for f in switch(sim, "binance-usdm").fired) == 1

    asyncio.run(go())


def test_a_dead_man_switch_out_of_range_or_missing_is_refused_before_anything_is_sent() -> None:
    ep = [{"rest": "http://127.0.0.1:9", "ws": {}}]
    with pytest.raises(ValueError, match="10 to 120"):
        tickwire.trade("okx", credentials=okx.Signer("k", "s", "p"), endpoints=ep, dead_man=5.0)
    with pytest.raises(ValueError, match="1 to 86400"):
        tickwire.trade("kraken", credentials=kraken.Signer("k", KRAKEN_SECRET), endpoints=ep, dead_man=0.5)
    with pytest.raises(NotSupported):
        tickwire.trade("bybit", credentials=bybit.Signer("k", "s"), endpoints=ep, dead_man=30.0)
    with pytest.raises(NotSupported):
        tickwire.trade("binance", credentials=binance.Signer("k", "s"), endpoints=ep, dead_man=30.0)


# countdowns against the venue's rate limits -------------------------------------------------------


def test_a_kraken_countdown_whose_refreshes_would_take_half_the_rest_counter_is_refused_at_start() -> None:
    """Kraken's Starter REST counter (15, decaying by 0.33 a second: 15 per 45 s here and at the
    simulator) pays 1 per ``CancelAllOrdersAfter``; refreshed every quarter of the countdown, a countdown
    needs 4 / t calls a second, which fits half the counter from t = 24 s on. Before: a 2 s countdown
    was armed and its refreshes waited on the budget past the countdown — the venue fired on a live
    session's orders."""
    rate = 15 / 45  # the counter's calls a second, kept up

    async def go() -> None:
        key, signer, _ = ACCOUNTS["kraken"]
        async with funded("kraken", profile={"rest_limit": 15}) as sim:
            urls = sim.urls()["kraken"]
            with pytest.raises(ValueError, match="REST rate limit") as e:
                async with tickwire.trade("kraken", credentials=signer, endpoints=urls, dead_man=20.0):
                    pass
            assert (4 / 20.0) / rate > 0.5 and "24 s or more" in str(e.value), e.value
            assert "POST /0/private/CancelAllOrdersAfter" not in requests(sim, "kraken")
            assert switch(sim, "kraken").armed(key) == {}  # nothing armed at the venue
            async with tickwire.trade("kraken", credentials=signer, endpoints=urls, dead_man=24.0) as tr:
                assert (4 / 24.0) / rate <= 0.5
                assert set(switch(sim, "kraken").armed(key)) == {None} and tr.dead_man is not None

    asyncio.run(go())


def test_a_usdm_symbol_whose_countdown_would_take_the_refreshes_past_half_the_weight_is_refused_unsent() -> (
    None
):
    """USDⓈ-M keeps one countdown per symbol, each refresh weighing 10, every quarter of the countdown:
    at 3 s, 13.3 weight a second a symbol against half of the 2,400 a minute the simulator announces
    (20 a second). The first symbol's order goes; the second's is refused with ``RiskLimitExceeded``
    before its countdown is armed or the order written, and the first symbol trades on. Before: the
    second was armed and the refreshes took 27 weight a second, two thirds of everything the address may
    send, for the session's life."""
    per_symbol = 10 / (3.0 / 4)
    assert per_symbol <= 0.5 * 2400 / 60 < 2 * per_symbol

    async def go() -> None:
        key, signer, _ = ACCOUNTS["binance-usdm"]
        async with funded("binance-usdm", profile={"weight_limit": 2400}) as sim:
            urls = sim.urls()["binance-usdm"]
            async with tickwire.trade("binance-usdm", credentials=signer, endpoints=urls, dead_man=3.0) as tr:
                await rest_buy(sim, tr, "BTCUSDT")
                with pytest.raises(RiskLimitExceeded, match="WEIGHT") as e:
                    await rest_buy(sim, tr, "ETHUSDT")
                assert e.value.symbol == "ETHUSDT" and e.value.limit == "dead_man"
                assert set(switch(sim, "binance-usdm").armed(key)) == {"BTCUSDT"}
                assert [o.symbol for o in open_at_venue(sim, "binance-usdm")] == ["BTCUSDT"]
                assert [o.symbol for o in tr.tracker.open_orders()] == ["BTCUSDT"]  # nothing tracked
                await rest_buy(sim, tr, "BTCUSDT", 31)
                assert len(open_at_venue(sim, "binance-usdm")) == 2

    asyncio.run(go())


def test_a_usdm_symbol_idle_past_its_countdown_is_disarmed_and_makes_room_for_another() -> None:
    """At 1 s and 6,000 weight a minute, one symbol's refreshes (40 a second) fit half the limit and two
    do not. BTCUSDT is traded, then left (its order cancelled): unused for longer than the countdown,
    the budget's longest wait and a request time-out, it is disarmed at the venue (not fired) and
    ETHUSDT, refused while BTCUSDT was armed, is armed and traded. A symbol with an open order stays
    armed. Before: BTCUSDT stayed armed for the session's life and ETHUSDT was refused for good."""
    assert 10 / (1.0 / 4) <= 0.5 * 6000 / 60 < 2 * 10 / (1.0 / 4)

    async def go() -> None:
        key, signer, _ = ACCOUNTS["binance-usdm"]
        async with funded("binance-usdm", profile={"weight_limit": 6000}) as sim:
            urls, sw = sim.urls()["binance-usdm"], switch(sim, "binance-usdm")
            kw = {"credentials": signer, "endpoints": urls, "dead_man": 1.0, "timeout": 0.5, "rate_wait": 0.2}
            async with tickwire.trade("binance-usdm", **kw) as tr:
                o = await rest_buy(sim, tr, "BTCUSDT")
                await tr.cancel_order("BTCUSDT", client_id=o.client_id)
                with pytest.raises(RiskLimitExceeded):
                    await rest_buy(sim, tr, "ETHUSDT")
                await settle(lambda: "BTCUSDT" not in sw.armed(key), "BTCUSDT disarmed at the venue", 5.0)
                assert tr.dead_man is not None and tr.dead_man.armed == set() and sw.fired == []
                await rest_buy(sim, tr, "ETHUSDT")
                assert set(sw.armed(key)) == {"ETHUSDT"}
                before = tr.dead_man.refreshes
                await asyncio.sleep(2.5)  # past the grace: an open order keeps its symbol armed
                assert set(sw.armed(key)) == {"ETHUSDT"} and tr.dead_man.refreshes > before
                assert sw.fired == [] and len(open_at_venue(sim, "binance-usdm")) == 1

    asyncio.run(go())


# a process killed with SIGKILL ---------------------------------------------------------------------

CHILD = """
import asyncio, dataclasses, json, sys
import tickwire
from tickwire.venues import binance, kraken

venue, key, secret = sys.argv[1:4]
urls, orders = json.loads(sys.argv[4]), json.loads(sys.argv[5])
signer = binance.Signer(key, secret) if venue == "binance-usdm" else kraken.Signer(key, secret)

async def main():
    tr = tickwire.trade(venue, credentials=signer, endpoints=urls, dead_man=1.0)
    if venue == "kraken":  # the key's REST counter as the simulator keeps it (kill_cases.trade)
        limits = dict(tr.budget.limits)
        limits["REST"] = dataclasses.replace(limits["REST"], limit=int(sys.argv[6]))
        tr.budget.set_limits(limits.values(), replace=True)
    async with tr:
        for symbol, qty, price in orders:
            await tr.place_order(symbol, "buy", "limit", qty, price)
        print("ready", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""
CHILD_ORDERS = {
    "binance-usdm": [("BTCUSDT", "0.003", "50000"), ("ETHUSDT", "0.01", "2500")],
    "kraken": [("BTC/USD", "0.001", "50000"), ("ETH/USD", "0.01", "2500")],
}


@pytest.mark.parametrize("venue", ["binance-usdm", "kraken"])
def test_orders_die_with_a_process_killed_with_sigkill(venue: str) -> None:
    """The issue's case: the session's process is killed (SIGKILL: no clean-up runs), and the venue's
    dead-man switch — armed by the session, refreshed while it lived — cancels its orders."""
    key = ACCOUNTS[venue][0]
    secret = KRAKEN_SECRET if venue == "kraken" else "kill-secret"

    async def go() -> None:
        async with funded(venue) as sim:
            env = {**os.environ, "PYTHONPATH": str(Path(tickwire.__file__).parents[1])}
            args = [venue, key, secret, json.dumps(sim.urls()[venue]), json.dumps(CHILD_ORDERS[venue])]
            args.append(str(FAST_COUNTDOWNS["kraken"]["rest_limit"]))
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", CHILD, *args, env=env, stdout=asyncio.subprocess.PIPE
            )
            try:
                assert proc.stdout is not None
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                assert line.strip() == b"ready"
                await asyncio.sleep(2.5)  # alive: refreshed, nothing cancelled
                assert len(open_at_venue(sim, venue)) == 2 and switch(sim, venue).fired == []
            finally:
                proc.kill()  # SIGKILL
                await proc.wait()
            await settle(lambda: not open_at_venue(sim, venue), "the venue's countdown", 4.0)
            assert sum(f.cancelled for f in switch(sim, venue).fired) == 2

    asyncio.run(go())
