"""The event loops tickwire makes for itself: uvloop where installed (an application's own loop is
never replaced), and a background thread running one service on such a loop for synchronous bots."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Self, TypeVar

from tickwire.errors import RequestTimeoutError, TransportError

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (tickwire's own threads and commands opt in), else asyncio's default."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform but Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Any) -> Any:
    """``tickwire.run(main())``: ``asyncio.run`` on uvloop where installed."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)


def after_reads(callback: Callable[..., object], *args: Any) -> None:
    """``callback(*args)`` run once the running loop has read its sockets again: where a timer's
    consequence (a time-out, "nothing came for so long") is judged. After a stall of the process (a
    busy CPU, a GC pause, a long callback), the timers that came due and the bytes that arrived
    meanwhile are both waiting, and uvloop runs the timers, and what they call soon, before its next
    read of the sockets (asyncio reads first): judged in the timer, an answer already there was taken
    for one that never came. Two hops of ``call_soon``: on uvloop the first still runs before that
    read, the second after it. (A task woken by its ``asyncio.sleep`` gets there by one
    ``await asyncio.sleep(0)``.)"""
    loop = asyncio.get_running_loop()
    loop.call_soon(loop.call_soon, callback, *args)


async def _end_the_others() -> None:
    """Every task of the running loop but this one cancelled, and waited for."""
    rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in rest:
        t.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


class LoopStopped(RuntimeError):
    """The loop thread is not running (closed), or stopped before a call it ran had finished."""


class LoopNotRunning(LoopStopped):
    """The loop thread was not running when the call was made: nothing of the call ran."""


class OnLoopThread(RuntimeError):
    """A blocking ``call`` made on the loop thread itself (from a callback): it would wait for itself."""


class LoopThread:
    """A daemon thread with its own loop that runs ``start()``, then waits, then runs ``close()`` when
    ``stop()`` is called; ``call(coro)`` runs a coroutine there from any thread."""

    def __init__(
        self,
        name: str,
        start: Callable[[], Awaitable[object]],
        close: Callable[[], Awaitable[object]],
        died: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._start, self._close = start, close
        # What closes the service when an exception left its loop (``_main``): ``close`` by default.
        self._died = died or close
        self.death: BaseException | None = None
        self.loop = new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._starting: asyncio.Task[None] | None = None
        # ``stop()`` was called (from any thread): a start still running is stopped, not left to come
        # up behind the caller who stopped it.
        self._stop_asked = False
        # Set (under the lock ``call`` queues under) once the loop has ended: no call is queued on a
        # loop that will not run it, and one queued just before is refused unrun (``_guarded``).
        self._calls_lock = threading.Lock()
        self._calls_closed = False
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            main = self.loop.create_task(self._run())
            while not main.done():
                try:
                    self.loop.run_until_complete(main)
                except BaseException as e:  # run again below, to close the service
                    # A ``SystemExit`` (a callback's ``sys.exit()``) left the loop from one of its
                    # callbacks: the service is still closed (``died``), as an exception leaving an
                    # ``async with`` closes it, not left open with its loop stopped for good.
                    if main.done():
                        raise
                    if self.death is None:
                        self.death = e
                        logging.getLogger("tickwire").error(
                            "%s: %r left the loop (a callback's?): the service is closed",
                            self._thread.name,
                            e,
                        )
                    self._stop_asked = True
                    self._abandon()
        finally:
            with self._calls_lock:
                self._calls_closed = True
            # A call queued as the loop ended (its callback, or its result's, left in the loop's queue)
            # would never be answered: each is refused unrun, or its result handed over, here.
            with contextlib.suppress(BaseException):
                self.loop.run_until_complete(self._drain())
            self.loop.close()

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # the calls still queued start here: refused (``_guarded``)
        await _end_the_others()  # those begun in the loop's last step: cut short, as ``_run``'s

    async def _guarded(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._calls_closed:
            coro.close()
            raise LoopNotRunning(f"{self._thread.name}: the loop thread stopped before the call ran")
        return await coro

    async def _run(self) -> None:
        self._starting = asyncio.current_task()
        try:
            await self._start()
        except BaseException as e:
            if isinstance(e, asyncio.CancelledError) and self._stop_asked:
                e = self._stopped_in_start()
            self._error = e
            self._ready.set()
            return
        finally:
            self._starting = None
        self._stop = asyncio.Event()
        if self._stop_asked:  # stopped as the start ended (too late to cancel it): closed at once
            self._error = self._stopped_in_start()
            self._stop.set()
        self._ready.set()
        await self._stop.wait()
        await (self._close() if self.death is None else self._died())
        # Calls still running end here (cancelled), so no caller waits on a loop that is gone.
        await _end_the_others()

    def start_closed_at_exit(self, close: Callable[[], object], timeout: float | None = None) -> None:
        """``start``, with ``close`` run at interpreter exit until the owner unregisters it (its own
        close): a script that exits without closing still closes its session — the daemon thread is
        otherwise frozen mid-session at exit, the audit's last event never written."""
        atexit.register(close)
        try:
            self.start(timeout)
        except BaseException:
            atexit.unregister(close)
            raise

    def start(self, timeout: float | None = None) -> None:
        """Starts the thread; returns once ``start()`` finished (its error is raised here). Past
        ``timeout``: the start is cancelled, or the service stopped if it came up meanwhile, the thread
        ended, and ``RequestTimeoutError`` raised."""
        self._thread.start()
        if not self._ready.wait(timeout):
            # Else it would come up behind a caller told nothing, and no stop() could reach it (no
            # ``_stop`` yet): running on, connected, until the process ends.
            with contextlib.suppress(RuntimeError):  # the loop already ended: the start failed just now
                self.loop.call_soon_threadsafe(self._abandon)
            self._thread.join()
            raise RequestTimeoutError(f"{self._thread.name}: not started within {timeout} s") from self._error
        if self._error is not None:
            self._thread.join()
            raise self._error

    def _stopped_in_start(self) -> TransportError:
        return TransportError(f"{self._thread.name}: stopped while it started")

    def _abandon(self) -> None:
        """On the loop: the start given up by its caller (see ``start``)."""
        if self._starting is not None:
            self._starting.cancel()
        elif self._stop is not None:
            self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the service and waits up to ``timeout`` for the thread to end. A start still running
        (another thread's ``start``) is cancelled, and raises ``TransportError`` there: else it came
        up after this returned, connected, with nothing left to stop it. From the loop thread itself
        (a callback of the service) the stop is asked and not waited for: it runs once the callback
        has returned (waiting, the thread would wait for itself)."""
        if self._thread.is_alive():
            self._stop_asked = True
            with contextlib.suppress(RuntimeError):  # the loop ended just now
                if self._stop is not None:
                    self.loop.call_soon_threadsafe(self._stop.set)
                else:
                    self.loop.call_soon_threadsafe(self._abandon)
            if not self.is_current():
                self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def is_current(self) -> bool:
        """Whether the caller runs on this loop thread (a callback of the service)."""
        return threading.current_thread() is self._thread

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """``coro``'s result, run on the thread's loop (``timeout`` None: however long it takes, or
        ``LoopStopped`` once the thread has stopped without finishing it)."""
        if self.is_current():
            coro.close()
            raise OnLoopThread(
                f"{self._thread.name}: a blocking call from the session's own thread (a callback) would"
                " wait for itself; from there, run the session's coroutine as a task on its loop"
            )
        with self._calls_lock:
            if not self._thread.is_alive() or self._calls_closed:
                coro.close()
                raise LoopNotRunning(f"{self._thread.name}: the loop thread is not running")
            fut = asyncio.run_coroutine_threadsafe(self._guarded(coro), self.loop)
        if timeout is not None:
            try:
                return fut.result(timeout)
            except concurrent.futures.CancelledError:
                if self._calls_closed or (self._stop is not None and self._stop.is_set()):  # by the stop
                    raise LoopStopped(f"{self._thread.name}: stopped while the call was running") from None
                raise
        while True:
            try:
                return fut.result(0.5)
            except concurrent.futures.CancelledError:
                if self._calls_closed or (self._stop is not None and self._stop.is_set()):  # by the stop
                    raise LoopStopped(f"{self._thread.name}: stopped while the call was running") from None
                raise
            except concurrent.futures.TimeoutError:
                if not self._thread.is_alive():  # stopped (closed) with the call still running
                    fut.cancel()
                    raise LoopStopped(f"{self._thread.name}: stopped while the call was running") from None


class Periodic:
    """``round()`` every ``every_s`` seconds on the running loop, from :meth:`start` until
    :meth:`stop`; a round that raises is logged and the next one runs (a monitor must outlive one
    failed read)."""

    every_s: float
    task: asyncio.Task[None] | None = None

    async def round(self) -> object:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            # A round judges "nothing for so long" (a book not updated: ``Watch`` throws the kill
            # switch) once the sockets were read: woken after a stall of the process, uvloop runs it
            # before reading what arrived meanwhile (``after_reads``).
            await asyncio.sleep(0)
            try:
                await self.round()
            except Exception:
                logging.getLogger("tickwire").exception("%s round failed", type(self).__name__)

    def start(self) -> Self:
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None
