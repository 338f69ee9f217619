"""The health monitor (``tickwire.trading.watch.Watch``) against the simulator: each condition it
reads — an order left unknown, the order socket down, memory over a threshold, market data stale, down
or crossed — ends in the kill switch, checked against the simulator's own order list."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import tickwire
from kill_cases import ACCOUNTS, funded, on_two_symbols, open_at_venue, run
from session_cases import settle
from tickwire.sim import Simulator
from tickwire.trading.kill import KillReport
from tickwire.trading.session import TradingSession
from tickwire.trading.tracker import OrderTracker
from tickwire.trading.watch import Watch, rss_mb


def test_the_health_monitor_kills_when_an_order_stays_unknown() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        reports: list[KillReport] = []
        watch = Watch(tr, unknown_after_s=0.3, link_lost_s=None, every_s=0.05, on_kill=reports.append).start()
        lost = tr.prepare("BTCUSDT", "buy", "limit", "0.01", "50000")
        tr.tracker.track(lost)
        tr.tracker.mark_unknown(lost.client_id, "answer lost")  # as a time-out leaves it
        await asyncio.sleep(0.15)
        assert tr.halted is None and len(open_at_venue(sim, "binance")) == 2  # not old enough yet
        await settle(lambda: bool(reports), "the monitor's kill")
        watch.stop()
        assert tr.halted is not None and "unknown" in tr.halted and lost.client_id in tr.halted
        assert open_at_venue(sim, "binance") == [] and len(reports[0].cancelled) == 2
        assert [o.client_id for o in reports[0].unconfirmed] == [lost.client_id]  # the venue never had it

    run("binance", body)


def test_the_health_monitor_kills_when_the_order_socket_stays_down() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        watch = Watch(tr, unknown_after_s=None, link_lost_s=0.3, every_s=0.05).start()
        await asyncio.sleep(0.5)
        assert tr.halted is None  # the socket is up
        sim.venue("binance").accept = lambda conn: (503, b"down")  # type: ignore[method-assign]
        sim.endpoint("binance", 0).drop()
        await settle(lambda: watch.report is not None, "the monitor's kill")
        watch.stop()
        assert "order socket down" in (tr.halted or "")
        assert open_at_venue(sim, "binance") == [] and watch.report is not None and watch.report.complete

    run("binance", body, transport="auto")


def test_the_health_monitor_kills_over_a_memory_threshold_and_reads_cpu() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        rss = rss_mb()
        assert rss is not None and rss > 1
        watch = Watch(tr, max_rss_mb=rss * 10, every_s=0.05)
        assert await watch.tick() is None
        watch.max_rss_mb = 1.0
        report = await watch.tick()
        assert report is not None and "resident memory" in (tr.halted or "")
        assert open_at_venue(sim, "binance") == []
        assert await watch.tick() is None  # fires once: halted until resumed
        clock = [0.0]
        busy = Watch(tr, max_cpu_pct=1e-9, cpu_window_s=0.2, clock=lambda: clock[0])
        assert busy.check() is None  # one sample: no window yet
        t0 = time.process_time()
        while time.process_time() - t0 < 0.05:
            pass  # burn some CPU
        clock[0] = 0.3
        assert "CPU" in (busy.check() or "")

    run("binance", body)


def test_the_health_monitor_kills_when_market_data_goes_stale_or_down() -> None:
    """With the strategy's market-data session: a book the venue stops updating (its feed stalled)
    throws the switch; the kill itself needs no market data."""

    async def go() -> None:
        signer = ACCOUNTS["binance"][1]
        async with funded("binance", rate=40) as sim:
            urls = sim.urls()["binance"]
            async with tickwire.connect("binance", ["BTCUSDT"], endpoints=urls) as md:
                await settle(lambda: md.book("BTCUSDT").is_synced, "the book", 5.0)
                async with md.trade(credentials=signer) as tr:
                    await on_two_symbols(sim, tr, each=1)
                    watch = Watch(tr, market=md, book_stale_s=0.5, link_lost_s=None, every_s=0.05)
                    assert watch.check() is None  # fresh, synced, not crossed
                    sim.endpoint("binance", 0).stall()  # the feed stops; REST still answers
                    await settle(lambda: watch.check() is not None, "the stale book", 3.0)
                    assert "book BTCUSDT stale" in (watch.check() or "")
                    report = await watch.tick()
                    assert report is not None and report.complete and open_at_venue(sim, "binance") == []

    asyncio.run(go())


def test_the_health_monitor_reads_a_crossed_book_and_a_market_data_outage() -> None:
    """The rules on a market session's own report (``health()`` and the live book), without a venue."""
    D = Decimal

    class Book:
        def __init__(self, bid: str, ask: str) -> None:
            self.bid, self.ask = (D(bid), D(1)), (D(ask), D(1))

        def best_bid_exact(self) -> tuple[Any, Any]:
            return self.bid

        def best_ask_exact(self) -> tuple[Any, Any]:
            return self.ask

    class Market:
        def __init__(self) -> None:
            self.connected, self.book_ = True, Book("100", "100.5")

        def health(self) -> dict[str, Any]:
            book = {"state": "synced", "synced": True, "age_s": 0.01, "resyncing": False}
            return {"lines": [{"connected": self.connected}], "books": {"X": book}}

        def book(self, symbol: str) -> Book:
            return self.book_

    class Session:
        venue, halted, orders_ws, stream = "v", None, None, None
        tracker = OrderTracker()

        async def kill(self, reason: str) -> Any:
            raise AssertionError("check() only")

    clock, md = [0.0], Market()
    w = Watch(Session(), market=md, link_lost_s=1.0, clock=lambda: clock[0])  # type: ignore[arg-type]
    assert w.check() is None
    md.book_ = Book("100.5", "100.5")
    assert "crossed" in (w.check() or "")
    md.book_, md.connected = Book("100", "100.5"), False
    assert w.check() is None  # down, not yet for long
    clock[0] = 1.5
    assert "market data down" in (w.check() or "")
