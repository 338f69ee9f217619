"""HTX's ``fills(symbol, since_ms)`` past one answer: ``GET /v1/order/matchresults`` gives 500 rows
at most (``size`` 1..500), newest first, within ``start-time``/``end-time``. More fills than that since
the mark: every one the simulator made since, each once, or a typed error — never the newest 500
alone, the oldest dropped without a word (what a restarted gateway tells its clients from)."""

from __future__ import annotations

from test_fills_catch_up import crowd
from test_session_htx import HTX as a
from tickwire.errors import VenueError
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


def test_htx_fills_since_a_time_with_more_than_a_page_list_every_fill_or_raise() -> None:
    async def body(sim: Simulator, tr: TradingSession) -> None:
        v = sim.venue(a.venue)
        mark = sim.endpoint(a.venue, 0).now_ms()
        crowd(sim, a, 530)
        made = [f for o in v.engine.orders.values() for f in o.fills if o.symbol == a.symbol]
        assert len(made) > 500, len(made)
        try:
            got = await tr.fills(a.symbol, since_ms=mark)
        except VenueError:
            return  # said so: the listing is cut short
        missing = sorted({str(f.trade_id) for f in made} - {f.trade_id for f in got})
        assert len(got) == len({f.trade_id for f in got}), "a fill listed twice"
        assert not missing, f"{len(missing)} of {len(made)} fills since the mark not listed: {missing[:5]}"

    a.run(body, private_stream=False)
