"""For synchronous bots: a session on a background thread with its own event loop.

    md = tickwire.connect_threaded("binance", ["BTCUSDT"])   # returns once the books are in sync
    with md.locked():                                        # consistent reads of several values
        bid, ask = md.book("BTCUSDT").best_bid(), md.book("BTCUSDT").best_ask()
    md.close()

Book reads are safe from any thread: each call into the Rust book holds the GIL for its whole
duration, so it never sees half a frame. ``locked()`` makes several reads consistent with each other
(the loop thread takes the same lock around each frame). Callbacks run on the loop thread by default;
``dispatch="queue"`` queues them for ``md.get()`` (bounded: ``session/handoff.py``), or pass a
callable that takes ``(fn, arg)`` (e.g. your own loop's ``call_soon_threadsafe``).
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from tickwire._core import OrderBook, ReaderLock
from tickwire.loop import LoopNotRunning, LoopThread
from tickwire.session.handoff import QUEUE_MAX, Handoff
from tickwire.session.market import MarketData

Dispatch = str | Callable[[Callable[[Any], None], Any], None]


class ThreadedMarketData:
    def __init__(self, md: MarketData, dispatch: Dispatch = "thread", queue_max: int = QUEUE_MAX) -> None:
        self.md = md
        # Shared with the frame route, which takes it in Rust around each frame.
        self._lock = ReaderLock()
        md.reader_lock = self._lock
        self.queue = Handoff(queue_max)
        self._wrap_callbacks(dispatch)
        self._thread = LoopThread(f"tickwire-{md.venue}", md.start, md.close)

    def _wrap_callbacks(self, dispatch: Dispatch) -> None:
        md = self.md
        for name in ("on_book", "on_trade", "on_bbo", "on_status"):
            fn = getattr(md, name)
            if dispatch == "thread":
                continue
            if dispatch == "queue":
                kind = name[3:]
                setattr(md, name, lambda v, kind=kind, put=self.queue.put: put(kind, v))
            elif callable(dispatch) and fn is not None:
                setattr(md, name, lambda v, fn=fn: dispatch(fn, v))
            elif not callable(dispatch):
                raise ValueError(f"dispatch is 'thread', 'queue' or a callable, not {dispatch!r}")

    def start(self, timeout: float | None = None) -> ThreadedMarketData:
        self._thread.start_closed_at_exit(self.close, timeout)
        return self

    def close(self, timeout: float = 10.0) -> None:
        atexit.unregister(self.close)
        self._thread.stop(timeout)

    def __enter__(self) -> ThreadedMarketData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # reads -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Holds the books still: no frame is applied while inside."""
        with self._lock:
            yield

    def book(self, symbol: str) -> OrderBook:
        return self.md.book(symbol)

    def is_synced(self, symbol: str | None = None) -> bool:
        return self.md.is_synced(symbol)

    def health(self) -> dict[str, Any]:
        """The session's health, and with ``dispatch="queue"`` the events waiting for ``get()`` and
        those dropped (``queue_waiting``, ``queue_dropped``)."""
        h: dict[str, Any] = self.call(self.md.health)
        h["queue_waiting"], h["queue_dropped"] = len(self.queue), self.queue.dropped
        return h

    def latency(self) -> dict[str, dict[str, float]]:
        lat: dict[str, dict[str, float]] = self.call(self.md.latency)
        return lat

    def call(self, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Runs ``fn`` on the session's loop thread and returns its result."""
        # A callback's (there already: waiting would freeze the loop), or after the close (nothing
        # runs there any more): read here.
        if self._thread.is_current() or not self._thread.is_alive():
            return fn()
        try:
            return self._thread.call(_call(fn), timeout)
        except LoopNotRunning:  # the loop ended as the call was made, nothing of it run: as after the close
            return fn()

    def get(self, timeout: float | None = None) -> tuple[str, Any]:
        """With ``dispatch="queue"``: the next ("book" | "trade" | "bbo" | "status", value) —
        ``queue.Empty`` after ``timeout``. A book waits once however often it changed (its view is
        live); past ``queue_max`` waiting events the oldest go (``health()["queue_dropped"]``)."""
        return self.queue.get(timeout)


async def _call(fn: Callable[[], Any]) -> Any:
    return fn()
