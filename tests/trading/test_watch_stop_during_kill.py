"""The health monitor stopped (``Watch.stop``) while the kill it threw is still running — a strategy's
shutdown path stopping its monitor — against the simulator's own order list: the kill runs to its
end all the same and its report still reaches ``on_kill``."""

from __future__ import annotations

import asyncio

from kill_cases import on_two_symbols, open_at_venue, run
from session_cases import settle
from tickwire.sim import Simulator
from tickwire.trading.kill import KillReport
from tickwire.trading.session import TradingSession
from tickwire.trading.watch import Watch


def test_stopping_the_monitor_while_its_kill_runs_does_not_cut_the_kill_short() -> None:
    """The venue answers slowly (0.3 s a request); the monitor throws the switch and is stopped while
    the kill lists the open orders. Before: ``stop`` cancelled the monitor's task and the kill with it
    — the session halted, its two orders left working at the venue, no report, nothing logged."""

    async def body(sim: Simulator, tr: TradingSession) -> None:
        await on_two_symbols(sim, tr, each=1)
        reports: list[KillReport] = []
        watch = Watch(tr, unknown_after_s=None, link_lost_s=None, max_rss_mb=1.0, every_s=0.05,
                      on_kill=reports.append)  # fmt: skip
        ep = sim.endpoint("binance", 0)
        ep.delay(0.3)
        watch.start()
        await settle(lambda: tr.halted is not None, "the monitor's kill")
        await asyncio.sleep(0.05)  # the kill's first listing is on its way
        watch.stop()
        await asyncio.sleep(0.1)
        ep.delay(0)
        await settle(lambda: not tr.reconciler.settling(), "the kill's end", 3.0)
        assert "resident memory" in (tr.halted or "")
        left = open_at_venue(sim, "binance")
        assert left == [], f"{len(left)} orders left working at the venue after the monitor's kill"
        assert len(reports) == 1 and reports[0].complete and len(reports[0].cancelled) == 2

    run("binance", body)
