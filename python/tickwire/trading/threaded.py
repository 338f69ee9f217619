"""For synchronous bots: a trading session on a background thread with its own event loop.

    tr = tickwire.trade_threaded("binance", credentials=binance.Signer(key, secret))
    order = tr.place_order("BTCUSDT", "buy", "limit", "0.001", "60000")   # blocks until answered
    tr.close()

Each call runs the session's coroutine on the session thread and waits for its result (``timeout``
seconds, default the session's request time-out plus its reconciliation time); errors are raised in the
calling thread as they are. ``on_order``/``on_fill`` run on the session thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from tickwire.session.threaded import new_event_loop
from tickwire.trading.orders import Fill, Order
from tickwire.trading.session import RECONCILE_ATTEMPTS, RECONCILE_PAUSE_S, TradingSession
from tickwire.trading.venue import Balance

T = TypeVar("T")


class ThreadedTrading:
    def __init__(self, session: TradingSession) -> None:
        self.session = session
        self._loop = new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"tickwire-{session.venue}-trade", daemon=True
        )
        # A call may wait for its answer, then for reconciliation: both, with room to spare.
        self.timeout = 2 * session.timeout + RECONCILE_ATTEMPTS * (session.timeout + RECONCILE_PAUSE_S)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._run())
        finally:
            self._loop.close()

    async def _run(self) -> None:
        try:
            await self.session.start()
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await self.session.close()

    def start(self, timeout: float | None = None) -> ThreadedTrading:
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def close(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            if self._stop is not None:
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)

    def __enter__(self) -> ThreadedTrading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(self.timeout)

    def place_order(self, symbol: str, side: Any, type: Any, qty: Any, price: Any = None, **kw: Any) -> Order:
        return self._call(self.session.place_order(symbol, side, type, qty, price, **kw))

    def cancel_order(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order:
        return self._call(self.session.cancel_order(symbol, client_id=client_id, order_id=order_id))

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        return self._call(self.session.cancel_all(symbol))

    def order_status(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order:
        return self._call(self.session.order_status(symbol, client_id=client_id, order_id=order_id))

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self._call(self.session.open_orders(symbol))

    def balances(self) -> Mapping[str, Balance]:
        return self._call(self.session.balances())

    def fills(self, symbol: str, since_ms: int | None = None) -> Sequence[Fill]:
        return self._call(self.session.fills(symbol, since_ms))


def trade_threaded(venue: str, *, start_timeout: float | None = None, **options: Any) -> ThreadedTrading:
    """:func:`tickwire.trade` on a background thread with its own (uv)loop, for synchronous bots;
    returns a started :class:`ThreadedTrading` once the session is up (rules loaded, streams
    subscribed)."""
    from tickwire.trading.trade import trade

    return ThreadedTrading(trade(venue, **options)).start(start_timeout)
