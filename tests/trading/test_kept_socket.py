"""A kept socket's failures as its log tells them (``trading/kept_socket.py``)."""

from __future__ import annotations

import logging
from typing import Any

from session_cases import settle
from test_session_okx import OKX
from tickwire.sim import Simulator
from tickwire.trading.session import TradingSession


def test_a_set_up_that_times_out_says_so_in_its_log_line(caplog: Any) -> None:
    """The private stream reconnects while the venue sends nothing (a stalled server): its log-in's
    wait for the answer times out, a bare ``TimeoutError`` whose text is empty. The warning names it.
    Before (found by the random exactly-once test's sweeps): ``okx private stream: set-up failed: ``
    and nothing after it."""
    a = OKX

    async def body(sim: Simulator, tr: TradingSession) -> None:
        stream: Any = tr.stream
        assert stream is not None and stream.connected
        ep = sim.endpoint(a.venue, 0)
        stream.connect_timeout = 0.5  # the log-in's wait (5 s by default)
        with caplog.at_level(logging.WARNING, "tickwire.trading"):
            ep.stall()
            stream.transport.disconnect()
            await settle(lambda: "set-up failed" in caplog.text, "a set-up that timed out")
            ep.unstall()
            await settle(lambda: stream.connected, "the stream back")
        lines = [r.getMessage() for r in caplog.records if "set-up failed" in r.getMessage()]
        assert lines and all(not line.rstrip().endswith("set-up failed:") for line in lines), lines
        assert any("TimeoutError" in line for line in lines), lines

    a.run(body, timeout=0.5)
