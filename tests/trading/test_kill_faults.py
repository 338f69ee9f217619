"""The kill switch, the risk limits and orders in flight when the venue and the network misbehave (a
fault review in a scratch clone), each proved against the simulator's own order list, positions and
request log, and each failing on the code before its fix."""

from __future__ import annotations

import asyncio
from typing import Any

from kill_cases import on_two_symbols, open_at_venue, reduce_only_at_venue, run
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


def test_two_kills_at_once_close_a_usdm_position_once_and_both_report_it_flat() -> None:
    """Two kills thrown together (a watch and the operator) on Binance USDⓈ-M with a long position and
    resting orders: the first kill's reduce-only order is on its way when the second reaches that
    symbol. The second waits for it (a concurrent kill is settling it) and reads the position again:
    both reports complete and flat, as the simulator has it — one reduce-only order, filled, nothing
    open. Before: the second called the first's pending order "still unknown", sent nothing and
    reported a failed step (not complete) though the venue was flat."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        engine = sim.venue("binance-usdm").engine
        await tr.place_order("BTCUSDT", "buy", "market", "0.01")
        await on_two_symbols(sim, tr, each=1)
        assert engine.position("kill-usdm", "BTCUSDT") != 0
        one, two = await asyncio.gather(tr.kill("watch"), tr.kill("operator"))
        assert engine.position("kill-usdm", "BTCUSDT") == 0 and open_at_venue(sim, "binance-usdm") == []
        at_venue = reduce_only_at_venue(sim)
        assert [(o.filled == o.qty, o.open) for o in at_venue] == [(True, False)], at_venue
        assert [(o.client_id, o.status) for o in one.closing + two.closing] == [
            (at_venue[0].client_id, "filled")
        ], (one, two)
        assert one.complete and one.positions == (), one
        assert two.complete and two.positions == (), two

    run("binance-usdm", body)


def test_orders_a_kill_cancel_left_open_after_a_5xx_are_cancelled_again_once_listed_still_open() -> None:
    """Binance spot, two resting buys on each of two symbols; the kill's first per-symbol cancel-all
    is answered 503 (the venue's blip: nothing cancelled there). The kill's second listing shows those
    two still open, and the kill cancels them once more: nothing open at the simulator, all four in
    the report's ``cancelled``, the 503 still named in ``errors``. Before: the kill saw them still open
    and left them resting (``unconfirmed``), two orders working after the kill switch."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        placed = await on_two_symbols(sim, tr)
        ep, send_lane, blipped = sim.endpoint("binance", 0), tr.send_lane, []

        async def blip(call: Any, lane: Any) -> Any:
            if call.method == "DELETE" and not blipped:
                blipped.append(call.params.get("symbol"))
                ep.fail(1, status=503)  # this request: answered 503, not processed
            return await send_lane(call, lane)

        tr.send_lane = blip  # type: ignore[method-assign]
        report = await tr.kill("blip")
        assert open_at_venue(sim, "binance") == [], open_at_venue(sim, "binance")
        assert sorted(o.client_id for o in report.cancelled) == sorted(o.client_id for o in placed), report
        assert report.unconfirmed == () and len(report.errors) == 1 and "503" in report.errors[0], report
        for o in placed:
            got = tr.tracker.get(o.client_id)
            assert got is not None and got.status == "canceled", got

    run("binance", body, transport="rest")
