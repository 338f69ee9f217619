"""``md.health()`` from a bot thread in the market-data handle's last moments, as ``close()`` ends
its loop: answered at once, as after the close, with the closed session's health."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import tickwire
from simproc import sim_process
from tickwire.session.threaded import ThreadedMarketData


@pytest.mark.parametrize("loop_kind", ["uvloop", "asyncio"])
def test_a_health_read_queued_as_the_loop_ends_is_answered(
    monkeypatch: pytest.MonkeyPatch, loop_kind: str
) -> None:
    """The read is queued on the session loop while the session's close takes its last step: it
    returns the session's health — every line disconnected, as the closed session reports — within
    moments. Before: the loop ended with the read still queued, and the bot thread waited out the
    call's 5 s for a bare ``TimeoutError``."""
    if loop_kind == "asyncio":
        monkeypatch.setattr("tickwire.loop.new_event_loop", asyncio.new_event_loop)
    with sim_process("--venue", "binance", "--rate", "300", "--depth", "20") as urls:
        session = tickwire.connect("binance", ["BTCUSDT"], endpoints=urls["binance"], probe_interval=None)
        queued = threading.Event()
        real_submit = asyncio.run_coroutine_threadsafe

        def spy(coro: Any, loop: asyncio.AbstractEventLoop) -> Any:
            fut = real_submit(coro, loop)
            if loop is md._thread.loop:
                queued.set()
            return fut

        real_close = session.close
        out: list[Any] = []

        def read() -> None:
            try:
                out.append(md.health())
            except BaseException as e:
                out.append(e)

        reader = threading.Thread(target=read, daemon=True)

        async def close() -> None:
            await real_close()
            reader.start()
            assert queued.wait(10.0)  # the close's last step ends with the read queued

        monkeypatch.setattr(session, "close", close)
        md = ThreadedMarketData(session).start(10.0)
        monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", spy)
        md.close()
        reader.join(4.0)  # short of the call's 5 s: answered at once, or not at all
        assert not reader.is_alive(), "the read still waits for a loop that has ended"
        assert isinstance(out[0], dict), repr(out[0])
        assert not any(line["connected"] for line in out[0]["lines"])
