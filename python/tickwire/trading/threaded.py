"""For synchronous bots: a trading session on a background thread with its own event loop.

    tr = tickwire.trade_threaded("binance", credentials=binance.Signer(key, secret))
    order = tr.place_order("BTCUSDT", "buy", "limit", "0.001", "60000")   # blocks until answered
    tr.close()

Each call runs the session's coroutine on the session thread and waits for its result; errors are
raised in the calling thread as they are. A call that places, amends or cancels waits for its outcome
however long the session takes to learn it (its own bounds end it: the request time-out, rate-limit
waits, reconciliation): a time-out here would say nothing of the order while the call went on, and a bot
that retried on it would trade twice. Other calls wait ``timeout`` seconds at most (default the session's
request time-out plus its reconciliation time). ``on_order``/``on_fill`` run on the session thread.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from tickwire.errors import RequestTimeoutError, TickwireError, TransportError, UnknownOutcome
from tickwire.loop import LoopNotRunning, LoopStopped, LoopThread
from tickwire.trading.kill import KillReport
from tickwire.trading.orders import Fill, Order
from tickwire.trading.session import TradingSession
from tickwire.trading.settle_bound import IN_FLIGHT_WAIT, SETTLE_CAP_S, query_budget_s
from tickwire.trading.venue import Balance, Position
from tickwire.trading.wire import unsent

T = TypeVar("T")


class ThreadedTrading:
    def __init__(self, session: TradingSession) -> None:
        self.session = session
        self._thread = LoopThread(f"tickwire-{session.venue}-trade", self._start, self._close, self._died)
        # Set once the session's start has ended, and the loop thread is stoppable by then.
        self._start_over = threading.Event()
        self._settle_s: float | None = None  # the close's wait for orders in flight (``close``)
        self._close_asked = False
        self._close_lock = threading.Lock()
        # A call may wait for its answer, then for reconciliation: both, with room to spare.
        self.timeout = 2 * session.timeout + query_budget_s(session.timeout)

    def start(self, timeout: float | None = None) -> ThreadedTrading:
        # A bot that exits without close() still closes cleanly (the dead-man disarmed).
        self._thread.start_closed_at_exit(self.close, timeout)
        return self

    async def _start(self) -> None:
        try:
            await self.session.start()
        finally:
            # After this step, in which the loop thread readies its stop once a start succeeded.
            asyncio.get_running_loop().call_soon(self._start_over.set)

    def close(self, timeout: float | None = None) -> None:
        """Closes the session: its orders in flight are waited for up to ``timeout`` seconds
        (``TradingSession.close``'s ``settle_s``; default its own bound: until each can have its
        verdict), those it could not settle then listed in ``unsettled``; the rest of the close (the
        dead-man switch's disarm, the sockets) is waited for 10 s more. A start still running
        (another thread's) is stopped. From ``on_order``/``on_fill`` (the session thread) the close is
        begun and not waited for: it runs once the callback has returned (``unsettled`` is then filled
        when it ends)."""
        atexit.unregister(self.close)
        with self._close_lock:
            # Closes at once from several threads: the shortest wait asked is kept (each caller is
            # promised at most its own), not the last one's, which left a shorter caller returning
            # after its bound with the session still closing behind it.
            if not self._close_asked or (
                timeout is not None and (self._settle_s is None or timeout < self._settle_s)
            ):
                self._settle_s = timeout
            self._close_asked = True
        # The session's own bound is worked out on its loop, from the orders it then holds: here the
        # most it can come to (the thread's stop returns as soon as the close has ended).
        wait = max(SETTLE_CAP_S, IN_FLIGHT_WAIT * self.session.timeout) if timeout is None else timeout
        if self._thread.is_alive() and not self._start_over.is_set():
            # The loop thread has no stop before its start ends: the session's close stops the start.
            with contextlib.suppress(RuntimeError):  # the loop ended just now
                asyncio.run_coroutine_threadsafe(self._close(), self._thread.loop)
            if not self._thread.is_current():  # a callback's close: the start cannot end meanwhile
                self._start_over.wait(wait + 10.0)
        self._thread.stop(wait + 10.0)

    async def _close(self) -> None:
        await self.session.close(settle_s=self._settle_s)

    async def _died(self) -> None:
        """The loop left by an exception (a callback's ``sys.exit()``): closed as ``async with``
        closes the session an exception leaves — nothing waited for, the orders in flight named in
        ``unsettled``, the dead-man countdown left to run."""
        await self.session.close(disarm=False)

    @property
    def unsettled(self) -> list[Order]:
        """The orders still pending or unknown when the close stopped waiting for them."""
        return self.session.unsettled

    def __enter__(self) -> ThreadedTrading:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: Coroutine[Any, Any, T], closed: Callable[[], T] | None = None) -> T:
        """A query's result within ``timeout``; the async session's error types for a closed session
        (``TransportError``) and a time-out (``RequestTimeoutError``). ``closed``: what a read the
        closed session still answers gives, where the loop ended before the call ran."""
        try:
            return self._thread.call(coro, self.timeout)
        except LoopNotRunning as e:
            if closed is not None:
                return closed()
            raise TransportError(f"{self.session.venue}: the trading session is closed: {e}") from e
        except LoopStopped as e:
            raise TransportError(f"{self.session.venue}: the trading session is closed: {e}") from e
        except TimeoutError as e:
            if isinstance(e, TickwireError):  # the session's own
                raise
            raise RequestTimeoutError(f"{self.session.venue}: no answer within {self.timeout} s") from e

    def _outcome(self, coro: Coroutine[Any, Any, T]) -> T:
        """An order call's result, waited for until the session has it (see the module docstring);
        ``UnknownOutcome`` if the session closed first (the order may be at the venue), and
        ``TransportError`` (nothing sent, as the closed async session refuses it) if it had closed."""
        try:
            return self._thread.call(coro, None)
        except LoopNotRunning as e:
            raise unsent(TransportError(f"{self.session.venue}: refused: the session is closed: {e}")) from e
        except LoopStopped as e:
            raise UnknownOutcome(
                f"{self.session.venue}: the session closed before the call ended: {e}"
            ) from e

    def place_order(self, symbol: str, side: Any, type: Any, qty: Any, price: Any = None, **kw: Any) -> Order:
        return self._outcome(self.session.place_order(symbol, side, type, qty, price, **kw))

    def prepare(self, symbol: str, side: Any, type: Any, qty: Any, price: Any = None, **kw: Any) -> Order:
        if self._thread.is_current():  # a callback's: there already, and it waits for nothing
            return self.session.prepare(symbol, side, type, qty, price, **kw)

        async def made() -> Order:  # on the session thread: it takes a client id of the session's
            return self.session.prepare(symbol, side, type, qty, price, **kw)

        return self._call(made())

    def place_orders(self, orders: Sequence[Order]) -> list[Order | TickwireError]:
        return self._outcome(self.session.place_orders(orders))

    def cancel_order(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order:
        return self._outcome(self.session.cancel_order(symbol, client_id=client_id, order_id=order_id))

    def amend_order(
        self,
        symbol: str,
        *,
        client_id: str | None = None,
        order_id: str | None = None,
        qty: Any = None,
        price: Any = None,
    ) -> Order:
        return self._outcome(
            self.session.amend_order(symbol, client_id=client_id, order_id=order_id, qty=qty, price=price)
        )

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        return self._outcome(self.session.cancel_all(symbol))

    def order_status(
        self, symbol: str, *, client_id: str | None = None, order_id: str | None = None
    ) -> Order:
        return self._call(self.session.order_status(symbol, client_id=client_id, order_id=order_id))

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return self._call(self.session.open_orders(symbol))

    def balances(self) -> Mapping[str, Balance]:
        return self._call(self.session.balances())

    def positions(self) -> Mapping[str, Position]:
        return self._call(self.session.positions())

    def kill(self, reason: str) -> KillReport:
        return self._outcome(self.session.kill(reason))

    def resume(self) -> None:
        """On the session's loop, as every call: run on the caller's thread it could clear the halt
        between a starting kill's halt and its count of running kills (the GIL switches threads at any
        bytecode), and the session traded again behind the kill switch. From a callback: at once."""
        if self._thread.is_current():
            self.session.resume()
            return

        async def resume() -> None:
            self.session.resume()

        self._call(resume())

    def fills(self, symbol: str, since_ms: int | None = None) -> Sequence[Fill]:
        return self._call(self.session.fills(symbol, since_ms))

    def rotate(self, credentials: Any) -> None:
        """Waited for to its end, as an order call is: a rotation is two log-ins, the old order
        socket's drain and a query per open order, each bounded by the session's time-outs, and may
        outlast a query's wait. A time-out here would be said while the rotation went on and ended on
        the new key (the caller told it failed)."""
        try:
            self._thread.call(self.session.rotate(credentials), None)
        except (LoopNotRunning, LoopStopped) as e:
            raise TransportError(f"{self.session.venue}: the trading session is closed: {e}") from e

    def health(self) -> dict[str, Any]:
        """The session's ``health()``; after ``close()`` the closed session's, as the async session
        and the market-data handle report it (a monitor reads why a bot stopped)."""
        # A callback's (there already: it waits for nothing), or the loop has ended (nothing runs
        # there any more): read here.
        if self._thread.is_current() or not self._thread.is_alive():
            return self.session.health()

        async def read() -> dict[str, Any]:  # on the session's loop, like every other call
            return self.session.health()

        return self._call(read(), closed=self.session.health)


def trade_threaded(venue: str, *, start_timeout: float | None = None, **options: Any) -> ThreadedTrading:
    """:func:`tickwire.trade` on a background thread with its own (uv)loop, for synchronous bots;
    returns a started :class:`ThreadedTrading` once the session is up (rules loaded, streams
    subscribed)."""
    from tickwire.trading.trade import trade

    return ThreadedTrading(trade(venue, **options)).start(start_timeout)
