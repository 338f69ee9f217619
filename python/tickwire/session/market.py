"""A market-data session: live books for one venue over one or more connections.

    async with tickwire.connect("okx", symbols=["BTC-USDT"]) as md:
        md.book("BTC-USDT").best_bid()

Every frame takes one route: the line hands it to the Rust ``Dispatcher``, which decodes it,
arbitrates redundant lines, applies it and calls ``on_book`` in the same call. Python sees only
what needs a remedy or a Python callback (``on_summary``: sync events, trades, BBOs, pings, control
frames). Everything else here (reconnects, resyncs, staleness, probes) runs off that path in tasks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import ssl
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tickwire._core import Dispatcher, ReaderLock
from tickwire.audit import NULL_AUDIT, AuditLog
from tickwire.clock import SERVER_TIME, ClockSync
from tickwire.errors import TickwireError
from tickwire.latency import LatencyRecorder
from tickwire.limits import RateBudget
from tickwire.recovery.backoff import Backoff
from tickwire.session import busypoll, line_choice, renewal
from tickwire.session.adapter import Adapter
from tickwire.session.delivery import BookCallback, Delivery, StatusCallback, ValueCallback
from tickwire.session.events import EventQueue, StatusKind
from tickwire.session.line import Line
from tickwire.session.monitor import clock_loop, health, monitor, reaped, release_soon
from tickwire.session.options import (
    book_feed,
    check_redundancy,
    checked_channels,
    endpoint_pool,
    line_settings,
)
from tickwire.session.ports import LOST_SYNC, Summary
from tickwire.session.reads import BookReads
from tickwire.session.refusals import Refusals
from tickwire.session.registry import Registry
from tickwire.session.rest import RestClients
from tickwire.session.resync import Resyncer
from tickwire.session.subscriptions import Subscriptions
from tickwire.session.views import Views
from tickwire.streams import Channel, Endpoint, Sub
from tickwire.transport.http import HttpClient

if TYPE_CHECKING:
    from tickwire.capture import CaptureWriter
    from tickwire.trading.session import TradingSession

log = logging.getLogger("tickwire.session")

STAGES = ("decode_apply", "callback")


class MarketData(BookReads):
    """Live L2 books of one venue. Use :func:`tickwire.connect` to build one. What it reads of its
    books (``book``, ``is_synced``, ``wait_synced``, …) is :class:`tickwire.session.reads.BookReads`.

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
        capture: CaptureWriter | None = None,
    ) -> None:
        self.adapter = adapter
        self.venue = adapter.venue
        chans = checked_channels(adapter, channels)
        self.pool = endpoint_pool(adapter, endpoints)
        check_redundancy(adapter, redundancy)
        self.registry = Registry()
        self.registry.add(Sub(c, s) for s in symbols for c in chans)
        self.feed = book_feed(adapter, feed_options, redundancy, hold_s)
        self.hold_s = hold_s
        self._overlaps = renewal.Overlaps(self)  # a single line's feed arbitrates while renewed
        self.on_book = on_book
        self.on_trade = on_trade
        self.on_bbo = on_bbo
        self.on_status = on_status
        self._delivery = Delivery(self.venue, self)
        self.coalesce = coalesce
        self.stale_after = stale_after
        self.symbol_stale_after = symbol_stale_after
        self._backoff_proto = backoff or Backoff()
        self.resync_timeout = resync_timeout
        pings = (ping_interval, pong_timeout)
        self.line_settings = line_settings(adapter, connect_timeout, healthy_after, pings, ssl_context, proxy)
        self.ssl_context = ssl_context
        self.audit = AuditLog(audit) if isinstance(audit, str) else audit or NULL_AUDIT
        self._own_audit = isinstance(audit, str)
        self._subscriptions = Subscriptions(self.venue, adapter, self.registry, self.audit)
        self._rest = RestClients(self.venue, self.pool, ssl_context, self.audit)
        self.latency_recorder = LatencyRecorder(list(STAGES)) if latency else None
        self.probe_interval = probe_interval
        self.ready_timeout = ready_timeout
        self.busy_poll = busy_poll
        self._spinning = False
        self.clock_sync = clock_sync if self.venue in SERVER_TIME else None
        # Venue clock estimate (NTP-style, min-RTT samples): plug ``md.clock.now_ms`` into a Signer's
        # ``clock=`` so signed timestamps follow the venue, not the local clock.
        self.clock = ClockSync()
        # The one frame route (decode, A/B arbitration, apply, on_book, latency stages: Rust).
        self.dispatcher = Dispatcher(
            self.feed, None, self._delivery.book_error, self.latency_recorder, self.coalesce
        )
        self.dispatcher.defer_expiry(release_soon(self.release_held))
        # The quote rules armed on that route (``tickwire.trading.quote``), held apart from it so that a
        # callback the route is running may arm or disarm one.
        self.quote_rules = self.dispatcher.quotes
        self.redundancy = redundancy
        self.lines: list[Line] = []
        self._primary_line: Line | None = None  # ``_primary``'s choice
        # Set by a thread-backed handle whose readers share the books (``ThreadedMarketData``):
        # the dispatcher holds it around each frame.
        self.reader_lock: ReaderLock | None = None
        self.closing = False
        self.reconnect_delays: collections.deque[float] = collections.deque(maxlen=64)
        self.counters = {
            "decode_errors": 0, "resyncs": 0, "gaps": 0, "reconnects": 0, "stale": 0, "internal_errors": 0,
        }  # fmt: skip
        self.views = Views(self.feed, self.adapter.book_key)
        self.resyncer = Resyncer(self, adapter, self.feed, self.dispatcher.on_snapshot)
        # ``tickwire record``: raw frames, sends and REST snapshots teed to a capture file (its
        # thread writes them; the frame path pays one check when this is None).
        self.capture = capture
        self.resyncer.capture = capture
        # When the stale-symbol check last acted on a book (so it waits a window before acting again).
        self.stale_mark: dict[str, int] = {}
        self._refusals = Refusals(
            self, adapter, self.feed, self.registry, self.resyncer, self._subscriptions, self.books_held
        )
        # Symbols whose subscription the venue refused (one it does not list), with that refusal:
        # raised by ``wait_synced`` on them until they are subscribed again.
        self.refused = self._refusals.refused
        self._tasks: list[asyncio.Task[None]] = []

    # public -------------------------------------------------------------------------------------

    def latency(self) -> dict[str, dict[str, float]]:
        """Per-stage latency percentiles in ns (socket read → applied → callbacks done)."""
        return self.latency_recorder.summary() if self.latency_recorder is not None else {}

    def events(self, maxsize: int = 10_000) -> EventQueue:
        """``async for kind, value in md.events()``: ("book", OrderBook), ("trade", …), ("bbo", …),
        ("status", StatusEvent). A convenience: the callbacks are the fast path."""
        if self._delivery.queue is None:
            self._delivery.queue = EventQueue(maxsize)
            self.dispatcher.on_book = self._delivery.book_callback()
        return self._delivery.queue

    def status(
        self, kind: StatusKind, *, line: int | None = None, symbol: str | None = None, detail: str = ""
    ) -> None:
        self._delivery.status(kind, line, symbol, detail)

    def record(self, event: str, **fields: Any) -> None:
        """An audit-log entry for this venue."""
        self.audit.event(event, venue=self.venue, **fields)

    def count(self, counter: str) -> None:
        self.counters[counter] += 1

    def health(self) -> dict[str, Any]:
        """Lines (endpoint, frames, connects, idle time), each book's state and age, counters."""
        return health(self)

    async def subscribe(self, symbols: Iterable[str], channels: Iterable[Channel] = ("book",)) -> None:
        subs = [Sub(c, s) for s in symbols for c in checked_channels(self.adapter, channels)]
        for s in subs:
            self.refused.pop(s.symbol, None)  # asked again: the venue's answer now decides
        books = [s.symbol for s in subs if s.channel == "book" and not self.registry.refs(s)]
        if books:
            # Before their first message, as at start (Kraken: the precision its checksums are over).
            await self.adapter.prepare(self, books)
        with self.books_held():
            for s in subs:
                if s.channel == "book":  # unsubscribed before: its messages build it anew from now on
                    self.feed.revive(self.adapter.book_key(s.symbol))
        self._subscriptions.add(subs, self.lines)

    async def unsubscribe(self, symbols: Iterable[str], channels: Iterable[Channel] = ("book",)) -> None:
        """A book no one subscribes to any more is emptied at once (its view then reads an empty book,
        not synced) and its memory given back; what the venue still sends of it is dropped. Trades no
        one subscribes to any more: when subscribed again, the first one waits for none made
        meanwhile (A/B lines order trades by the venue's ids)."""
        # ``gone`` holds no book another subscribed name still reads (``Subscriptions.remove``:
        # Coinbase's BTC-USDC is its BTC-USD book).
        gone = self._subscriptions.remove((Sub(c, s) for s in symbols for c in channels), self.lines)
        for key in {self.adapter.book_key(s.symbol) for s in gone if s.channel == "book"}:
            self.resyncer.drop(key)
            with self.books_held():
                self.feed.forget(key)
        for key in {self.adapter.book_key(s.symbol) for s in gone if s.channel == "trades"}:
            with self.books_held():  # subscribed again, its first trade waits for none made meanwhile
                self.feed.resume_trades(key)

    def books_held(self) -> contextlib.AbstractContextManager[object]:
        """Around a change to the books made outside the frame route (a snapshot, a reset, a book
        forgotten): a thread-backed handle's readers (``md.locked()``) never see half of it."""
        lock = self.reader_lock
        return contextlib.nullcontext() if lock is None else lock

    # lifecycle ------------------------------------------------------------------------------------

    async def start(self, wait: bool = True, timeout: float | None = None) -> MarketData:
        """Connects every line and subscribes; with ``wait``, returns once every book is in sync
        (:class:`RequestTimeoutError` naming the laggards after ``timeout``, default ``ready_timeout``)."""
        if self.adapter.resync == "snapshot" and self.pool.endpoints[self.pool.ranking()[0]].rest:
            # Snapshots follow the first diffs within milliseconds: have the TCP (and TLS)
            # connection ready so the first one does not pay for it.
            self.background(self._preconnect(), "rest")
        await self.adapter.prepare(self)
        if self.busy_poll and not self._spinning:
            busypoll.acquire()
            self._spinning = True
        self.dispatcher.on_book = self._delivery.book_callback()
        self.dispatcher.reader_lock = self.reader_lock
        self.lines = [self._start_line(i) for i in range(self.redundancy)]
        self.background(monitor(self), "monitor")
        if self.clock_sync:
            self.background(clock_loop(self, self.clock_sync), "clock")
        if wait:
            try:
                await self.wait_synced(self.ready_timeout if timeout is None else timeout)
            except BaseException:
                await self.close()
                raise
        return self

    def _start_line(self, index: int) -> Line:
        ln = Line(self, index, self.adapter, self.pool, self.line_settings, self.dispatcher, self.capture)
        b = dataclasses.replace(self._backoff_proto, attempts=0)
        ln.task = asyncio.create_task(ln.run(b), name=f"tickwire-{self.venue}-line{index}")
        return ln

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
        # No frame comes any more. Trades still waiting for the ones before them (arbitrated lines,
        # ids consecutive per symbol) go out, in id order, without them: read off the wire, they are
        # not dropped with the feed. Held book frames go with the books (no resync now).
        if self.feed.arbiter_stats() is not None:
            with self.books_held():
                self.feed.clear_held()
            self.release_held(2**62)
        await self._rest.close()
        if self._spinning:
            busypoll.release()
            self._spinning = False
        self._delivery.close()
        self.audit.event("close", venue=self.venue)
        if self._own_audit:
            self.audit.close()

    async def __aenter__(self) -> MarketData:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # what the frame route hands to Python ------------------------------------------------------------

    def on_summary(self, line: Line | None, summary: Summary, payload: memoryview | None) -> None:
        """A frame (or released A/B frames, ``line`` None) with something the dispatcher does not
        settle itself: a book that lost sync or waits for its snapshot, a trade or BBO, a venue
        ping, a control frame. Applied books were already called back."""
        kind, updates, value = summary
        for key, outcome in updates:
            if outcome == "buffered":
                if self.adapter.resync == "snapshot":
                    self.resyncer.request(key, "initial snapshot")
                elif self.adapter.rest_fallback:  # the stream sent this book no snapshot
                    self.resyncer.snapshot_wanted(key)
            elif outcome in LOST_SYNC:
                self.resyncer.lost_sync(key, LOST_SYNC[outcome])
        if kind == "trade":
            # ``line`` None: trades that waited for the ones before them (ids consecutive per
            # symbol, lines arbitrated) until their hold ran out, each with its id.
            primary = line is not None and self._primary(line)
            for trade in value:
                # A trade with the venue's id that another line brought first was dropped by the
                # feed, so whichever line brings a trade first delivers it; one without an id is
                # told from the other line's copy by nothing, so only the primary's go out.
                if trade.trade_id is not None or primary:
                    self._delivery.value(kind, trade)
        if kind == "book" or line is None:
            return
        if kind == "bbo":
            if value is None or not self._primary(line):
                return  # the same event from the other line(s) of a redundant set
            self._delivery.value(kind, value)
        elif kind == "ping":
            line.send(self.adapter.pong_for(value))
        elif (kind == "control" or kind == "other") and payload is not None:
            line.control(payload)

    def on_venue_error(self, line: Line, code: str, message: str, symbols: Sequence[str] = ()) -> None:
        self._refusals.on_venue_error(line, code, message, symbols)  # ``session.refusals``

    def on_bad_frame(self, line: Line, error: Exception) -> None:
        self.counters["decode_errors"] += 1
        self.status("decode_error", line=line.index, detail=str(error)[:200])
        symbol = getattr(error, "symbol", None)
        # The books refused an update the venue made: each lacks it now, whether or not the venue's
        # sequence would show that on the next message (Bybit's ids only grow, Kraken has none). A
        # frame of several books is refused whole: every one it named (``symbols``).
        keys = {*(getattr(error, "symbols", None) or ()), *([symbol] if symbol is not None else [])}
        self.resyncer.invalidate(keys, "a frame of it was refused")

    def on_internal_error(self, line: Line, error: Exception) -> None:
        """The core failed on a frame (``InternalError``: a bug, to report): a frame may have been
        applied in part, so no book is trusted — each resyncs — and the line reconnects (its
        decompressor and sequence start over). Logged with the error, never raised into picows."""
        self.counters["internal_errors"] += 1
        log.error("%s line %d: %s; every book resyncs and the line reconnects", self.venue, line.index, error)
        self.status("internal_error", line=line.index, detail=str(error)[:200])
        self.record("internal_error", line=line.index, error=str(error)[:200])
        self.resyncer.invalidate(self.feed.symbols(), "the core failed on a frame")
        line.kill("internal error in the core")

    def release_held(self, now_ns: int) -> None:
        """A/B frames whose hold time ran out go to their books (which report the gap), held trades
        to ``on_trade``."""
        summary = self.dispatcher.release_held(now_ns)
        if summary is not None:
            self.on_summary(None, summary, None)

    def _primary(self, line: Line) -> bool:
        """Whether ``line`` delivers what its copies cannot be told from (``line_choice.primary``)."""
        if len(self.lines) == 1:
            return True
        self._primary_line = cur = line_choice.primary(self.lines, self._primary_line, line)
        return cur is line

    # sync and control -------------------------------------------------------------------------------

    def send_first(self, msgs: Sequence[bytes]) -> None:
        """Sends on the connected line that heard from the venue last (``line_choice.freshest``)."""
        ln = line_choice.freshest(self.lines)
        if ln is None:
            raise TickwireError(f"{self.venue}: no connected line")
        for m in msgs:
            ln.send(m)

    def live_subs(self) -> list[Sub]:
        return self.registry.live()

    def note_reconnect_delay(self, delay: float) -> None:
        self.reconnect_delays.append(delay)

    def trade(self, credentials: Any = None, **options: Any) -> TradingSession:
        """A trading session on this venue that shares this session's endpoints (in their current
        ranking), audit log and books (``trading.trade.trade_beside``). For venue time in signatures
        build the signer with ``clock=md.clock.now_ms``. Other options are :func:`tickwire.trade`'s."""
        from tickwire.trading.trade import trade_beside

        ranked = [self.pool.endpoints[i] for i in self.pool.ranking()]
        books = self.live_book if self.adapter.books_are_traded() else None
        audit = options.pop("audit", self.audit)
        return trade_beside(self.venue, ranked, audit, books, credentials, **options)

    def rest(self, turn: int = 0) -> HttpClient:
        """A keep-alive REST client to the endpoint the first connected line uses; ``turn`` k > 0:
        the k-th other endpoint with a REST URL (``line_choice.rest_endpoint``)."""
        return self._rest.get(line_choice.rest_endpoint(self.lines, self.pool, turn))

    def rest_budget(self, turn: int = 0) -> RateBudget | None:
        """The rate budget of the address ``rest(turn)`` asks (the adapter's ``rest_limits``, as the
        venue announced them to any session of the process), or None where snapshots count against
        none."""
        a = self.adapter
        i = line_choice.rest_endpoint(self.lines, self.pool, turn)
        return self._rest.budget(i, a.limits_venue or a.venue, a.rest_limits)

    # line events ----------------------------------------------------------------------------------

    def endpoints_in_use(self, exclude: int) -> set[int]:
        return {ln.endpoint for ln in self.lines if ln.index != exclude and ln.endpoint is not None}

    async def on_line_up(self, line: Line) -> None:
        if self.adapter.reset_on_reconnect and line.connects > 1:
            with self.books_held():
                self.feed.reset()
        n = self._subscriptions.on_connect(line)
        self.status("subscribed", line=line.index, detail=f"{n} subscriptions")
        if self.adapter.snapshot_first:
            # Books that never synced take their snapshot now rather than after the first diff: a
            # quiet symbol may send none for a long time. The feed checks the first diff against it
            # (a gap resyncs), so the order is safe; after a reconnect the continuity check decides.
            for key in self.book_keys():
                if not self._synced_book(key):
                    self.resyncer.request(key, "initial snapshot")
        if self.adapter.resync == "snapshot" and (line.connects > 1 or self._unproven()):
            # Continuity after a reconnect: the next diff, or on a quiet symbol a REST snapshot. Also
            # on a line's first connection when every line was down before it (a renewal's successor
            # whose old connection was cut while it connected).
            proof = self.resyncer.prove_continuity(self.book_keys, self.dispatcher.confirmed)
            self.background(proof, "continuity")

    def _unproven(self) -> bool:
        """Whether a synced book waits for a message to vouch for it (every line was down)."""
        return any(self._synced_book(k) and not self.dispatcher.confirmed(k) for k in self.book_keys())

    def _synced_book(self, key: str) -> bool:
        try:  # synced once, continuity after a reconnect left to the next message (not is_synced)
            return self.feed.book(key).state == "synced"
        except KeyError:
            return False

    def background(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """Runs ``coro`` beside the session (its upkeep, an adapter's), cancelled by ``close``."""
        task = asyncio.create_task(coro, name=f"tickwire-{self.venue}-{name}")
        self._tasks = [*reaped(self._tasks), task]
        return task

    def renew(self, line: Line) -> None:
        self.background(renewal.renew(self, line), f"renew{line.index}")

    def start_successor(self, old: Line) -> Line:
        with self.books_held():
            self.feed.dedupe_trades()  # arbitrated A/B lines drop them already
        self._overlaps.begin()
        self.lines.append(new := self._start_line(old.index))
        return new

    def retire(self, old: Line, new: Line | None) -> None:
        old.retire("renewed" if new is not None else "its renewal failed")
        if old.task is not None:
            self._tasks.append(old.task)  # ends by itself; awaited (or cancelled) by close()
        self.lines = renewal.replaced(self.lines, old, new)
        self._overlaps.end(renewed=new is not None)

    def on_line_down(self, line: Line) -> None:
        if self.closing or line.retired:
            return
        self.counters["reconnects"] += 1
        reason = line.kill_reason or "connection lost"
        if not any(ln.connected for ln in self.lines if ln is not line):
            with self.books_held():  # what every view's is_synced reads
                self.dispatcher.unconfirm_all()
        self.record("disconnect", line=line.index, reason=reason)
        self.status("disconnected", line=line.index, detail=reason)
