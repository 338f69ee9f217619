"""``ThreadedTrading`` calls made in the session thread's last moments, as ``close()`` ends it: each
is answered as a call after the close is, checked against the simulator's own order list."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from test_threaded_trading import SYMBOL, in_thread, simulator
from tickwire.errors import TransportError, UnknownOutcome


def test_a_place_queued_as_the_session_thread_ends_is_refused_unsent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another bot thread places while the session's close takes its last step (the call is queued on
    the loop as it ends): the place raises ``TransportError`` — nothing sent, as a place after the
    close is refused — and the venue holds no order. Before: the loop ended with the call still
    queued; its caller, polling, saw the thread gone and was told ``UnknownOutcome`` ("the order may
    be at the venue") of an order never sent, to be reconciled for nothing."""
    with simulator() as st:
        tr = st.handle().start(10.0)
        price, qty = st.resting(tr)
        queued = threading.Event()
        real_submit = asyncio.run_coroutine_threadsafe

        def spy(coro: Any, loop: asyncio.AbstractEventLoop) -> Any:
            fut = real_submit(coro, loop)
            if loop is tr._thread.loop:
                queued.set()
            return fut

        real_close = tr.session.close
        placing: list[Any] = []

        async def close(**kw: Any) -> None:
            await real_close(**kw)
            placing.extend(in_thread(lambda: tr.place_order(SYMBOL, "buy", "limit", qty, price)))
            assert queued.wait(10.0)  # the close's last step ends with the place queued

        monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", spy)
        monkeypatch.setattr(tr.session, "close", close)
        tr.close(2.0)
        t, out = placing
        t.join(10.0)
        assert not t.is_alive(), "the place never returned"
        assert isinstance(out[0], TransportError) and not isinstance(out[0], UnknownOutcome), repr(out[0])
        assert st.orders() == []
