"""An order the venue takes while the kill's confirmation runs, first seen in its last listing (the
one after late orders were cancelled): checked against the simulator's own order list."""

from __future__ import annotations

from typing import Any

from kill_cases import on_two_symbols, open_at_venue, run
from tickwire.sim import Simulator
from tickwire.trading import kill as kill_module
from tickwire.trading.session import TradingSession


def test_an_order_first_listed_by_the_kills_last_listing_is_cancelled_or_reported() -> None:
    """Two orders reach the venue during the kill (another script on the same key, or calls in flight
    before the halt): one after the first listing, one just before the last. A report that says
    ``complete`` must mean nothing is left resting at the venue."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        r = tr.rules["BTCUSDT"]
        listings: list[int] = []
        sent: list[Any] = []
        original_close, original_listed = kill_module.Kill.close_positions, kill_module.Kill.listed

        async def place(ticks: int) -> None:
            price = sim.book("binance", "BTCUSDT").bids[0][0] - ticks * r.tick_size
            o = tr.prepare("BTCUSDT", "buy", "limit", r.min_qty * 100, price)
            sent.append(await tr.send_lane(tr.grammar.new_order(o), "cancel"))

        async def then_late(self: Any) -> Any:
            if not sent:  # taken after the kill's first listing: confirm's listing finds it
                await place(50)
            return await original_close(self)

        async def listed(self: Any) -> Any:
            listings.append(1)
            # The third listing is confirm's last (after it cancelled the late one): taken just before.
            if len(listings) == 3:
                await place(60)
            return await original_listed(self)

        kill_module.Kill.close_positions = then_late  # type: ignore[method-assign]
        kill_module.Kill.listed = listed  # type: ignore[method-assign]
        try:
            report = await tr.kill("late twice")
        finally:
            kill_module.Kill.close_positions = original_close  # type: ignore[method-assign]
            kill_module.Kill.listed = original_listed  # type: ignore[method-assign]
        assert len(sent) == 2 and len(sim.venue("binance").engine.orders) == 4, (sent, listings)
        left = open_at_venue(sim, "binance")
        assert report.complete is False or left == [], (report, left)
        assert left == [], f"left resting at the venue: {left}; report: {report}"
        # Both late orders counted: the venue's own ids of the four it took, all cancelled there.
        ids = {o.order_id for o in report.cancelled}
        assert ids == {str(o.id) for o in sim.venue("binance").engine.orders.values()}, report
        assert report.complete, report

    run("binance", body)
