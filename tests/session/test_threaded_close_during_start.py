"""``ThreadedMarketData.close()`` from another thread while the handle's start is still running (the
venue holds the depth snapshot the books wait for): the close returns promptly, the start raises in
its thread instead of returning a handle the bot closed, the loop thread ends, and the venue has no
connection of the session left — as the trading handle's close does (``test_threaded_close.py``)."""

from __future__ import annotations

import threading
import time

from test_threaded_trading import in_thread, simulator
from tickwire.errors import TransportError
from tickwire.session import connect
from tickwire.session.threaded import ThreadedMarketData


def test_a_close_from_another_thread_while_the_market_start_runs_stops_it() -> None:
    with simulator() as st:
        gate = threading.Event()
        st.hold("GET /api/v3/depth", gate)
        urls = st.run(lambda: st.sim.urls()["binance"])
        md = ThreadedMarketData(connect("binance", ["BTCUSDT"], endpoints=urls, probe_interval=None))
        t, out = in_thread(lambda: md.start(10.0))
        try:
            st.until_handling("GET /api/v3/depth")
            threading.Timer(0.5, gate.set).start()  # the snapshot answered while the close runs
            t0 = time.monotonic()
            md.close(3.0)
            took = time.monotonic() - t0
            t.join(10.0)
            assert not t.is_alive(), "the start never returned"
            assert isinstance(out[0], TransportError), f"the start returned {out[0]!r} after the close"
            assert not md._thread.is_alive(), f"the session thread runs on after close() ({took:.1f} s)"
        finally:
            gate.set()
            md.close(1.0)
        time.sleep(0.3)
        conns = st.run(lambda: len(st.sim.endpoint("binance", 0).conns))
        assert conns == 0, f"{conns} connection(s) of the closed session still open at the venue"
