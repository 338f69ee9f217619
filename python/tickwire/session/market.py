"""A market-data session: live books for one venue over one or more connections.

    async with tickwire.connect("okx", symbols=["BTC-USDT"]) as md:
        md.book("BTC-USDT").best_bid()

The hot path is ``_on_payload``: one Rust call decodes the frame and applies it to the books, then
the user's synchronous callbacks run on the loop thread. Everything else here (reconnects, resyncs,
staleness, probes) runs off that path in tasks.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tickwire._core import BookFeed, Dispatcher, OrderBook
from tickwire.audit import NULL_AUDIT, AuditLog
from tickwire.clock import SERVER_TIME, ClockSync
from tickwire.errors import DecodeError, RequestTimeoutError, TickwireError, ValueRangeError
from tickwire.latency import LatencyRecorder
from tickwire.recovery.arbiter import DROP, HELD, Arbiter
from tickwire.recovery.backoff import Backoff
from tickwire.recovery.failover import EndpointPool
from tickwire.session import busypoll
from tickwire.session.adapter import CHANNELS, Adapter, Channel, Endpoint, Sub
from tickwire.session.events import EventQueue, StatusEvent, StatusKind
from tickwire.session.line import Line
from tickwire.session.monitor import clock_loop, health, monitor
from tickwire.session.registry import Registry
from tickwire.session.resync import Resyncer
from tickwire.transport.http import HttpClient

log = logging.getLogger("tickwire.session")

_mono = time.monotonic_ns
_LOST = {"gap": "gap", "checksum_mismatch": "checksum", "crossed": "crossed"}
STAGES = ("decode_apply", "callback")

BookCallback = Callable[[OrderBook], None]
ValueCallback = Callable[[Any], None]
StatusCallback = Callable[[StatusEvent], None]


class MarketData:
    """Live L2 books of one venue. Use :func:`tickwire.connect` to build one.

    Callbacks run synchronously on the event-loop thread, inside the frame callback: keep them short.
    The ``OrderBook`` passed to ``on_book`` is a live view, valid at any time, but its contents change
    with the next frame — copy what you need to keep.
    """

    def __init__(
        self,
        adapter: Adapter,
        symbols: Iterable[str],
        *,
        channels: Iterable[Channel] = ("book",),
        endpoints: Sequence[Endpoint | Mapping[str, Any]] | None = None,
        redundancy: int = 1,
        on_book: BookCallback | None = None,
        on_trade: ValueCallback | None = None,
        on_bbo: ValueCallback | None = None,
        on_status: StatusCallback | None = None,
        coalesce: bool = True,
        stale_after: float = 30.0,
        symbol_stale_after: float | None = None,
        ping_interval: float | None = None,
        pong_timeout: float | None = None,
        connect_timeout: float = 5.0,
        backoff: Backoff | None = None,
        healthy_after: float = 5.0,
        resync_timeout: float = 5.0,
        hold_s: float = 0.05,
        ssl_context: ssl.SSLContext | None = None,
        proxy: str | None = None,
        audit: AuditLog | str | None = None,
        latency: bool = True,
        probe_interval: float | None = 30.0,
        ready_timeout: float = 10.0,
        clock_sync: float | None = 60.0,
        busy_poll: bool = False,
        feed_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.adapter = adapter
        self.venue = adapter.venue
        chans = tuple(channels)
        for c in chans:
            if c not in CHANNELS or c not in adapter.supported:
                raise ValueError(f"{self.venue} channels are {', '.join(adapter.supported)}; not {c!r}")
        specs = list(endpoints) if endpoints else list(adapter.production)
        self.pool = EndpointPool([Endpoint.of(e, i) for i, e in enumerate(specs)])
        if redundancy < 1:
            raise ValueError("redundancy must be >= 1")
        if redundancy > 1 and not adapter.redundant_ok:
            raise ValueError(
                f"{self.venue} books carry no venue-wide sequence numbers on every connection, so redundant "
                "lines cannot be arbitrated; use redundancy=1"
            )
        self.registry = Registry()
        self.registry.add(Sub(c, s) for s in symbols for c in chans)
        self.feed = BookFeed(adapter.feed_venue, **dict(feed_options or {}))
        self.on_book = on_book
        self.on_trade = on_trade
        self.on_bbo = on_bbo
        self.on_status = on_status
        self.coalesce = coalesce
        self.stale_after = stale_after
        self.symbol_stale_after = symbol_stale_after
        self.ping_interval = ping_interval if ping_interval is not None else adapter.ping_interval
        self.pong_timeout = pong_timeout if pong_timeout is not None else adapter.pong_timeout
        self.connect_timeout = connect_timeout
        self._backoff_proto = backoff or Backoff()
        self.healthy_after = healthy_after
        self.resync_timeout = resync_timeout
        self.ssl_context = ssl_context
        self.proxy = proxy
        self.audit = AuditLog(audit) if isinstance(audit, str) else audit or NULL_AUDIT
        self._own_audit = isinstance(audit, str)
        self.latency_recorder = LatencyRecorder(list(STAGES)) if latency else None
        self.probe_interval = probe_interval
        self.ready_timeout = ready_timeout
        self.busy_poll = busy_poll
        self._spinning = False
        self.clock_sync = clock_sync if self.venue in SERVER_TIME else None
        # Venue clock estimate (NTP-style, min-RTT samples): plug ``md.clock.now_ms`` into a Signer's
        # ``clock=`` so signed timestamps follow the venue, not the local clock.
        self.clock = ClockSync()
        self.lines = [Line(self, i) for i in range(redundancy)]
        self.arbiter = Arbiter(self._position, adapter.sequence, hold_s=hold_s) if redundancy > 1 else None
        self.closing = False
        self.reconnect_delays: collections.deque[float] = collections.deque(maxlen=64)
        self.counters = {"decode_errors": 0, "resyncs": 0, "gaps": 0, "reconnects": 0, "stale": 0}
        self._views: dict[str, OrderBook] = {}
        self._dirty: dict[str, None] = {}
        self.resyncer = Resyncer(self)
        # When the stale-symbol check last acted on a book (so it waits a window before acting again).
        self._stale_mark: dict[str, int] = {}
        # Books whose continuity is unproven since every line went down: a venue sequence only shows
        # a loss when the next message arrives, so until then the book is not reported in sync.
        self._unconfirmed: set[str] = set()
        self._http: dict[int, HttpClient] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._events: EventQueue | None = None
        self._lock: Any = None  # a threading.Lock when a thread-backed handle reads the books
        # The one-call fast path (decode, apply, callbacks, latency in Rust), when nothing needs to
        # see a frame before the feed (A/B arbitration, a reader lock) or after it in Python (events).
        self._dispatcher: Dispatcher | None = None

    # public -------------------------------------------------------------------------------------

    def book(self, symbol: str) -> OrderBook:
        """The live book (KeyError until the venue has sent anything for it)."""
        key = self.adapter.book_key(symbol)
        v = self._views.get(key)
        if v is None:
            v = self._views[key] = self.feed.book(key)
        return v

    def book_keys(self) -> list[str]:
        """The feed's names of the subscribed books (``BTCUSDT`` for ``btcusdt`` on Binance, …)."""
        return [self.adapter.book_key(s) for s in self.registry.symbols("book")]

    def last_update_ns(self, key: str) -> int | None:
        """``time.monotonic_ns()`` of the socket read that last changed this book (the feed keeps
        it per book, so the hot path stores nothing for it)."""
        v = self._views.get(key)
        if v is None:
            try:
                v = self._view(key)
            except KeyError:
                return None
        recv: int | None = v.recv_ns
        return recv

    def symbols(self) -> list[str]:
        return self.registry.symbols()

    def is_synced(self, symbol: str | None = None) -> bool:
        """True when the book (every book without ``symbol``) is in sync and, after a reconnect,
        its continuity has been proven by a message on the new connection."""
        names = [symbol] if symbol is not None else self.registry.symbols("book")
        for s in names:
            try:
                if not self.book(s).is_synced or self.adapter.book_key(s) in self._unconfirmed:
                    return False
            except KeyError:
                return False
        return True

    async def wait_synced(self, timeout: float = 10.0, symbols: Iterable[str] | None = None) -> None:
        names = list(symbols) if symbols is not None else self.registry.symbols("book")
        end = time.monotonic() + timeout
        while not all(self.is_synced(s) for s in names):
            left = end - time.monotonic()
            if left <= 0:
                bad = [s for s in names if not self.is_synced(s)]
                raise RequestTimeoutError(f"{self.venue}: books not in sync after {timeout} s: {bad}")
            await asyncio.sleep(min(left, 0.005))

    def latency(self) -> dict[str, dict[str, float]]:
        """Per-stage latency percentiles in ns (socket read → applied → callbacks done)."""
        return self.latency_recorder.summary() if self.latency_recorder is not None else {}

    def events(self, maxsize: int = 10_000) -> EventQueue:
        """``async for kind, value in md.events()``: ("book", OrderBook), ("trade", …), ("bbo", …),
        ("status", StatusEvent). A convenience: the callbacks are the fast path."""
        if self._events is None:
            self._events = EventQueue(maxsize)
            # Book events are queued from Python: leave the Rust fast path.
            self._dispatcher = None
            for ln in self.lines:
                ln._fast = None
        return self._events

    def status(
        self, kind: StatusKind, *, line: int | None = None, symbol: str | None = None, detail: str = ""
    ) -> None:
        ev = StatusEvent(kind, self.venue, line, symbol, detail)
        log.info(
            "%s %s%s%s %s",
            self.venue,
            kind,
            f" line {line}" if line is not None else "",
            f" {symbol}" if symbol else "",
            detail,
        )
        if self.on_status is not None:
            self._call(self.on_status, ev)
        if self._events is not None:
            self._events.put("status", ev)

    def health(self) -> dict[str, Any]:
        """Lines (endpoint, frames, connects, idle time), each book's state and age, counters."""
        return health(self)

    async def subscribe(self, symbols: Iterable[str], channels: Iterable[Channel] = ("book",)) -> None:
        new = self.registry.add(Sub(c, s) for s in symbols for c in channels)
        if new:
            self._send_all(self.adapter.subscribe, new)
            self.audit.event("subscribe", venue=self.venue, subs=[f"{s.channel}:{s.symbol}" for s in new])

    async def unsubscribe(self, symbols: Iterable[str], channels: Iterable[Channel] = ("book",)) -> None:
        gone = self.registry.remove(Sub(c, s) for s in symbols for c in channels)
        if gone:
            self._send_all(self.adapter.unsubscribe, gone)
            self.audit.event("unsubscribe", venue=self.venue, subs=[f"{s.channel}:{s.symbol}" for s in gone])

    # lifecycle ------------------------------------------------------------------------------------

    async def start(self, wait: bool = True, timeout: float | None = None) -> MarketData:
        """Connects every line and subscribes; with ``wait``, returns once every book is in sync
        (:class:`RequestTimeoutError` naming the laggards after ``timeout``, default ``ready_timeout``)."""
        if self.adapter.resync == "snapshot" and self.pool.endpoints[self.pool.ranking()[0]].rest:
            # Snapshots follow the first diffs within milliseconds: have the TCP (and TLS)
            # connection ready so the first one does not pay for it.
            self._tasks.append(asyncio.create_task(self._preconnect(), name=f"tickwire-{self.venue}-rest"))
        await self.adapter.prepare(self)
        if self.busy_poll and not self._spinning:
            busypoll.acquire()
            self._spinning = True
        if self.arbiter is None and self._lock is None and self._events is None:
            self._dispatcher = Dispatcher(
                self.feed, self.on_book, self._callback_error, self.latency_recorder, self.coalesce
            )
        for ln in self.lines:
            b = dataclasses.replace(self._backoff_proto, attempts=0)
            ln.task = asyncio.create_task(ln.run(b), name=f"tickwire-{self.venue}-line{ln.index}")
        self._tasks.append(asyncio.create_task(monitor(self), name=f"tickwire-{self.venue}-monitor"))
        if self.clock_sync:
            clock = clock_loop(self, self.clock_sync)
            self._tasks.append(asyncio.create_task(clock, name=f"tickwire-{self.venue}-clock"))
        if wait:
            try:
                await self.wait_synced(self.ready_timeout if timeout is None else timeout)
            except BaseException:
                await self.close()
                raise
        return self

    async def _preconnect(self) -> None:
        try:
            await self.rest().connect()
        except (TickwireError, OSError) as e:
            log.warning("%s: REST pre-connect failed (snapshots will connect on demand): %s", self.venue, e)

    async def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        for ln in self.lines:
            ln.kill("closing")
        tasks = [
            t for t in (*self._tasks, *self.resyncer.tasks.values(), *(ln.task for ln in self.lines)) if t
        ]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for http in self._http.values():
            await http.close()
        if self._spinning:
            busypoll.release()
            self._spinning = False
        if self._events is not None:
            self._events.close()
        self.audit.event("close", venue=self.venue)
        if self._own_audit:
            self.audit.close()

    async def __aenter__(self) -> MarketData:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # hot path ---------------------------------------------------------------------------------------

    def _on_payload(self, line: Line, payload: memoryview, t0: int, last: bool) -> None:
        arb = self.arbiter
        if arb is not None:
            verdict = arb.admit(payload)
            if verdict == DROP or verdict == HELD:
                self._flush_if(last)
                return
        lock = self._lock
        if lock is None:
            self._apply(line, payload, t0, last)
        else:
            with lock:
                self._apply(line, payload, t0, last)
        if arb is not None and arb.pending:
            for p in arb.ready():
                self._apply(line, memoryview(p), t0, last)

    def _apply(self, line: Line, payload: memoryview, t0: int, last: bool) -> None:
        try:
            summary = self.feed.on_frame(payload, t0)
        except (DecodeError, ValueRangeError) as e:
            self._bad_frame(line, e)
            return
        self._handle(line, summary, payload, t0, last)

    def _handle(self, line: Line, summary: Any, payload: memoryview, t0: int, last: bool) -> None:
        # Kept flat (no helper calls for the common applied-book case): on a frame that wakes the
        # loop every extra Python call runs with cold caches.
        kind, updates, value = summary
        t1 = _mono()
        if updates:
            for sym, outcome in updates:
                if outcome == "applied":
                    if self._unconfirmed:
                        self._unconfirmed.discard(sym)
                    cb = self.on_book
                    if cb is not None or self._events is not None:
                        if self.coalesce:
                            self._dirty[sym] = None
                        else:
                            v = self._views.get(sym) or self._view(sym)
                            if cb is not None:
                                try:
                                    cb(v)
                                except Exception:
                                    log.exception("%s: on_book callback raised", self.venue)
                            if self._events is not None:
                                self._events.put("book", v)
                elif outcome != "stale":
                    self._sync_event(sym, outcome)
        elif kind != "book":
            self._other(line, kind, value, payload)
        if last:
            if self._dirty:
                self._flush()
            if self._dispatcher is not None and self._dispatcher.pending:
                self._dispatcher.flush()
        rec = self.latency_recorder
        if rec is not None:
            rec.record(t0, t1, _mono())

    def _callback_error(self, exc: BaseException) -> None:
        log.error("%s: on_book callback raised", self.venue, exc_info=(type(exc), exc, exc.__traceback__))

    def _view(self, key: str) -> OrderBook:
        v = self._views[key] = self.feed.book(key)
        return v

    def _sync_event(self, sym: str, outcome: str) -> None:
        if outcome == "buffered":
            if self.adapter.resync == "snapshot":
                self.resyncer.request(sym, "initial snapshot")
        elif outcome in _LOST:
            self._lost_sync(sym, _LOST[outcome])

    def _other(self, line: Line, kind: str, value: Any, payload: memoryview) -> None:
        if kind == "trade" or kind == "bbo":
            if value is None or not self._primary(line):
                return  # the same event from the other line(s) of a redundant set
            cb = self.on_trade if kind == "trade" else self.on_bbo
            if cb is not None:
                self._call(cb, value)
            if self._events is not None:
                self._events.put(kind, value)
        elif kind == "ping":
            line.send(self.adapter.pong_for(value))
        elif kind == "control" or kind == "other":
            line.control(payload)

    def _flush_if(self, last: bool) -> None:
        if last:
            if self._dirty:
                self._flush()
            if self._dispatcher is not None and self._dispatcher.pending:
                self._dispatcher.flush()

    def _flush(self) -> None:
        dirty = self._dirty
        self._dirty = {}
        for sym in dirty:
            self._emit_book(sym)

    def _emit_book(self, key: str) -> None:
        v = self._views.get(key) or self._view(key)
        if self.on_book is not None:
            self._call(self.on_book, v)
        if self._events is not None:
            self._events.put("book", v)

    def _call(self, fn: Callable[[Any], None], arg: Any) -> None:
        try:
            fn(arg)
        except Exception:
            # A user callback's bug must not take the connection down with it.
            log.exception("%s: user callback %r raised", self.venue, fn)

    def _primary(self, line: Line) -> bool:
        if len(self.lines) == 1:
            return True
        for ln in self.lines:
            if ln.connected:
                return ln is line
        return True

    # sync and control -------------------------------------------------------------------------------

    def _position(self, key: str) -> int | None:
        v = self._views.get(key)
        if v is None:
            try:
                v = self._views[key] = self.feed.book(key)
            except KeyError:
                return None
        return v.last_update_id if v.is_synced else None

    def _bad_frame(self, line: Line, e: TickwireError) -> None:
        self.counters["decode_errors"] += 1
        self.status("decode_error", line=line.index, detail=str(e)[:200])

    def _lost_sync(self, key: str, why: str) -> None:
        self.counters["gaps"] += 1
        self.status("out_of_sync", symbol=key, detail=why)
        self.resyncer.request(key, why)

    def _send_all(self, build: Callable[[list[Sub]], list[bytes]], subs: list[Sub]) -> None:
        for ln in self.lines:
            if ln.connected:
                for chunk in self.adapter.chunks(subs):
                    for m in build(list(chunk)):
                        ln.send(m)

    def rest(self) -> HttpClient:
        """A keep-alive REST client to the endpoint the first connected line uses (snapshots come
        from the same place as the stream they align with)."""
        i = next((ln.endpoint for ln in self.lines if ln.connected and ln.endpoint is not None), None)
        if i is None:
            i = self.pool.ranking()[0]
        http = self._http.get(i)
        if http is None:
            base = self.pool.endpoints[i].rest
            if not base:
                raise TickwireError(f"{self.venue}: endpoint {self.pool.endpoints[i].name} has no REST URL")
            http = self._http[i] = HttpClient(base, ssl_context=self.ssl_context, on_exchange=self._on_http)
        return http

    # line events ----------------------------------------------------------------------------------

    def endpoints_in_use(self, exclude: int) -> set[int]:
        return {ln.endpoint for ln in self.lines if ln.index != exclude and ln.endpoint is not None}

    async def _on_line_up(self, line: Line) -> None:
        if self.adapter.reset_on_reconnect and line.connects > 1:
            self.feed.reset()
        login = self.adapter.login()
        if login is not None:
            line.send(login)
        subs = self.registry.live()
        for chunk in self.adapter.chunks(subs):
            for m in self.adapter.subscribe(list(chunk)):
                line.send(m)
        self.audit.event(
            "subscribe", venue=self.venue, line=line.index, subs=[f"{s.channel}:{s.symbol}" for s in subs]
        )
        self.status("subscribed", line=line.index, detail=f"{len(subs)} subscriptions")
        if self.adapter.snapshot_first:
            # Books that never synced take their snapshot now rather than after the first diff: a
            # quiet symbol may send none for a long time. The feed checks the first diff against it
            # (a gap resyncs), so the order is safe; after a reconnect the continuity check decides.
            for key in self.book_keys():
                if self._position(key) is None:
                    self.resyncer.request(key, "initial snapshot")

    def _on_line_down(self, line: Line) -> None:
        if self.closing:
            return
        self.counters["reconnects"] += 1
        reason = line.kill_reason or "connection lost"
        if not any(ln.connected for ln in self.lines if ln is not line):
            self._unconfirmed.update(self.adapter.book_key(s) for s in self.registry.symbols("book"))
        self.audit.event("disconnect", venue=self.venue, line=line.index, reason=reason)
        self.status("disconnected", line=line.index, detail=reason)

    def _on_http(self, method: str, path: str, status: int, elapsed: float) -> None:
        self.audit.event(
            "rest", venue=self.venue, method=method, path=path, status=status, elapsed_ms=elapsed * 1e3
        )
