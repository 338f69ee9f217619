"""``ThreadedTrading.close()`` from another thread while the handle's start is still running (the venue
holds the instrument rules): the start raises ``TransportError`` in its thread, the close returns
promptly, the loop thread ends, and the venue has no connection of the session left."""

from __future__ import annotations

import threading
import time

from test_threaded_trading import in_thread, simulator
from tickwire.errors import TransportError


def test_a_close_from_another_thread_while_the_start_runs_stops_it() -> None:
    """Before: ``close()`` could not reach a start under way (the loop thread has no stop until its
    start ends) — the rules answered meanwhile, the session came up behind it, and the close blocked
    for its whole bound (``IN_FLIGHT_WAIT`` time-outs + 10 s) and returned with the thread alive and
    the session connected."""
    with simulator() as st:
        gate = threading.Event()
        st.hold("GET /api/v3/exchangeInfo", gate)
        tr = st.handle(timeout=2.0)
        t, out = in_thread(lambda: tr.start(10.0))
        try:
            st.until_handling("GET /api/v3/exchangeInfo")
            threading.Timer(0.5, gate.set).start()  # the rules answered while the close runs
            t0 = time.monotonic()
            tr.close()
            took = time.monotonic() - t0
            t.join(5.0)
            assert not t.is_alive() and isinstance(out[0], TransportError), out
            assert not tr._thread.is_alive() and took < 3.0, took
        finally:
            gate.set()
            tr.close(1.0)
        assert st.run(lambda: len(st.sim.endpoint("binance", 0).conns)) == 0
        assert st.run(lambda: len(st.sim.endpoint("binance", 0).http.conns)) == 0
