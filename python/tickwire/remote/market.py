"""``tickwire.remote.connect``: the books, trades and BBOs of a venue that a gateway serves on NATS,
with the same objects and callbacks as :func:`tickwire.connect`.

Every bus message goes through the same frame route as a venue's frame: the ``Dispatcher`` decodes it
(Rust ``rust/bus``), applies it to a ``BookFeed("bus")`` book and calls ``on_book`` with the live
``OrderBook`` view.

The market-data subjects are received by one of two engines (``engine=``: ``"rust"``, the extension's
async-nats subscriber, or ``"nats-py"``; :mod:`tickwire.remote.engines`). Status events, heartbeats
and snapshot requests go over nats-py either way. The "rust" engine keeps at most ``max_pending``
messages while the loop does not drain it: past that its oldest go, the books that lost one resync,
and a ``dropped`` status event says what was lost.

A book that joins late or sees a gap asks the gateway for a snapshot (request-reply) and replays the
deltas that came meanwhile. Several gateways serving one venue are followed together: their deltas
carry the venue's own ids, so the first arrival of each update wins (venues without ids: follow one
gateway).

The ``OrderBook`` passed to ``on_book`` is a live view, valid at any time, whose contents change with
the next message — copy what you need to keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

from tickwire._core import Bbo, BookFeed, Dispatcher, Histogram, LatencyRecorder, OrderBook, Trade
from tickwire.bus import subjects
from tickwire.bus.client import connect as bus_connect
from tickwire.errors import BookError, RequestTimeoutError
from tickwire.remote.engines import ENGINES as ENGINES  # importable from here, as before
from tickwire.remote.engines import Receiver, engine_for
from tickwire.remote.engines import default_engine as default_engine  # importable from here, as before
from tickwire.remote.gateways import UpstreamBooks, live_gateways
from tickwire.remote.liveness import GatewayWatch
from tickwire.remote.snapshots import Snapshots
from tickwire.session import adapter_for
from tickwire.session.events import EventQueue, StatusEvent
from tickwire.session.ports import LOST_SYNC
from tickwire.session.views import Views

log = logging.getLogger("tickwire.remote")

STAGES = ("decode_apply", "callback")


class RemoteMarketData:
    """Books of ``venue`` rebuilt from a gateway's bus messages. Use :func:`tickwire.remote.connect`."""

    def __init__(
        self,
        servers: str | Sequence[str],
        venue: str,
        symbols: Iterable[str],
        *,
        channels: Iterable[str] = ("book",),
        gateway: str = "*",
        on_book: Callable[[OrderBook], None] | None = None,
        on_trade: Callable[[Any], None] | None = None,
        on_bbo: Callable[[Any], None] | None = None,
        on_status: Callable[[StatusEvent], None] | None = None,
        coalesce: bool = True,
        latency: bool = True,
        hold_s: float = 0.05,
        resync_timeout: float = 5.0,
        missed_beats: int = 3,
        engine: str | None = None,
        max_pending: int | None = None,
    ) -> None:
        self.engine = engine_for(engine)
        self.servers = servers
        self.venue = venue
        self.adapter = adapter_for(venue)
        self._symbols = list(symbols)
        self._keys = {s: self.adapter.book_key(s) for s in self._symbols}
        self.channels = tuple(channels)
        self.gateway = gateway
        self.on_trade = on_trade
        self.on_bbo = on_bbo
        self.on_status = on_status
        self.resync_timeout = resync_timeout
        self.feed = BookFeed("bus")
        self.hold_s: float | None = None
        self._releaser: asyncio.Task[None] | None = None
        if gateway == "*":
            # Several gateways may publish the same venue update: a delta ahead of its book waits
            # hold_s for the other gateway's copy of the missing one before it counts as a gap.
            self.feed.arbitrate(hold_s)
            self.hold_s = hold_s
        self.latency_recorder = LatencyRecorder(list(STAGES)) if latency else None
        # Gateway receive → this process's callback entry (wall clocks: one machine, or NTP-close).
        self.bus_hop = Histogram() if latency else None
        self.dispatcher = Dispatcher(
            self.feed, on_book, self._callback_error, self.latency_recorder, coalesce
        )
        self.counters = {
            "messages": 0, "decode_errors": 0, "book_errors": 0, "gaps": 0, "resyncs": 0, "snapshots": 0,
            "dropped": 0,
        }  # fmt: skip
        self.nc: Any = None
        self.watch: GatewayWatch | None = None
        self._missed = missed_beats
        self._subs: list[Any] = []
        self._receiver = Receiver(
            self.engine,
            venue,
            self.dispatcher,
            self.bus_hop,
            self.counters,
            self.on_summary,
            self._refused,
            max_pending,
        )
        self._views = Views(self.feed, lambda s: self._keys.get(s, s))
        self._events: EventQueue | None = None
        self.closing = False
        self._upstream = UpstreamBooks()
        # Trades and BBOs are delivered from one gateway (the first live one), not once per gateway.
        self.primary: str | None = None if gateway == "*" else gateway
        # Per symbol, the gateway its trades and BBOs are delivered from.
        self._sources: dict[str, str | None] = {}
        # Gateways that said they are closing (until heard alive again): no longer a source.
        self._closing: set[str] = set()
        self._snapshots = Snapshots(self, venue, gateway, self.feed)

    @property
    def last_stamp_ns(self) -> int:
        """The gateway's stamp (wall ns) of the message being handled: read it in ``on_book`` to time
        gateway → strategy (engine "nats-py": with ``latency`` on only)."""
        return self._receiver.last_stamp_ns

    @property
    def sub(self) -> Any:
        """engine "rust": the market-data subscription in the extension (None before ``start``)."""
        return self._receiver.sub

    # public (MarketData's shape) -----------------------------------------------------------------------

    def book(self, symbol: str) -> OrderBook:
        return self._views.book(symbol)

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def is_synced(self, symbol: str | None = None) -> bool:
        """True when the book (every book without ``symbol``) is in sync with the bus and a gateway
        serving it reports its own book in sync: after a gateway's venue connection came back, not
        before a message on it proved the gateway's book continuous (what the venue sent meanwhile
        may be missing from both until then)."""
        names = [symbol] if symbol is not None else self._book_symbols()
        for s in names:
            try:
                if not self.book(s).is_synced or not self._upstream_synced(self._keys.get(s, s)):
                    return False
            except KeyError:
                return False
        return True

    def _upstream_synced(self, key: str) -> bool:
        # Only while a live gateway serving the book vouches for it: a book rebuilt from a snapshot
        # before any gateway's heartbeat was heard has none, and if that gateway then went, it was
        # never declared gone either — the book stayed "synced" for good while it aged.
        live = live_gateways(self.watch, self.venue, self.gateway, key)
        return bool(live) and self._upstream.synced(key, live)

    def _live_gateways(self) -> list[str]:
        return live_gateways(self.watch, self.venue, self.gateway)

    def _book_symbols(self) -> list[str]:
        return self._symbols if "book" in self.channels else []

    async def wait_synced(self, timeout: float = 10.0, symbols: Iterable[str] | None = None) -> None:
        names = list(symbols) if symbols is not None else self._book_symbols()
        end = time.monotonic() + timeout
        while not all(self.is_synced(s) for s in names):
            if time.monotonic() >= end:
                bad = [s for s in names if not self.is_synced(s)]
                raise RequestTimeoutError(f"remote {self.venue}: books not in sync after {timeout} s: {bad}")
            await asyncio.sleep(0.005)

    def latency(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        if self.bus_hop is not None and self.bus_hop.count:
            out["bus"] = dict(self.bus_hop.summary())
        if self.latency_recorder is not None:
            out.update({k: dict(v) for k, v in self.latency_recorder.summary().items()})
        return out

    def events(self, maxsize: int = 10_000) -> EventQueue:
        """``async for kind, value in md.events()``: trades, BBOs and status events in arrival order."""
        if self._events is None:
            self._events = EventQueue(maxsize)
        return self._events

    def health(self) -> dict[str, Any]:
        books = {}
        for s in self._book_symbols():
            resyncing = self._keys[s] in self._snapshots.tasks
            try:
                b = self.book(s)
                books[s] = {
                    "state": b.state,
                    "synced": self.is_synced(s),
                    "upstream_synced": self._upstream_synced(self._keys[s]),
                    "resyncing": resyncing,
                }
            except KeyError:
                books[s] = {"state": "empty", "synced": False, "resyncing": resyncing}
        gws = {} if self.watch is None else {n: st.alive for n, st in self.watch.gateways.items()}
        sub_state = None if self.sub is None else dict(self.sub.state())
        connected = bool(self.nc is not None and self.nc.is_connected)
        if self.engine == "rust":
            connected = connected and sub_state is not None and bool(sub_state["connected"])
        return {
            "venue": self.venue,
            "remote": True,
            "engine": self.engine,
            # engine "rust": the subscriber's connected, reconnects, server, received, messages,
            # errors, dropped, overflowed, pending, max_pending, last_error, running.
            "subscriber": sub_state,
            "connected": connected,
            # host:port only: the URL's user part may hold a password or a token.
            "server": None
            if self.nc is None or self.nc.connected_url is None
            else self.nc.connected_url.netloc.rpartition("@")[2],
            "gateways": gws,
            "primary": self.primary,
            "books": books,
            **self.counters,
        }

    # lifecycle -----------------------------------------------------------------------------------------

    async def start(self, wait: bool = True, timeout: float | None = None) -> RemoteMarketData:
        self.nc = await bus_connect(self.servers, name=f"tickwire-remote-{self.venue}")
        self.watch = await GatewayWatch(
            self.nc, missed=self._missed, on_change=self._gateway_change, on_beat=self._check_behind
        ).start()
        gw = self.gateway
        market = [
            subjects.market(self.venue, self._keys[s], _CHANNEL.get(ch, ch), gw)
            for s in self._symbols
            for ch in self.channels
        ]
        await self._receiver.start(self.nc, self.servers, market)
        self._subs.append(await self.nc.subscribe(subjects.status(self.venue, gw), cb=self._on_status_msg))
        await self.nc.flush()
        if self.hold_s is not None:
            self._releaser = asyncio.get_running_loop().create_task(self._release_loop(self.hold_s))
        # Every book starts from a snapshot; deltas arriving meanwhile wait in the book's buffer.
        for s in self._book_symbols():
            self.resync(self._keys[s], "initial snapshot")
        if wait:
            await self.wait_synced(timeout if timeout is not None else 10.0)
        return self

    async def close(self) -> None:
        self.closing = True
        if self._releaser is not None:
            self._releaser.cancel()
        for t in list(self._snapshots.tasks.values()):
            t.cancel()
        await self._receiver.close()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        if self.watch is not None:
            await self.watch.stop()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        if self._events is not None:
            self._events.close()

    async def __aenter__(self) -> RemoteMarketData:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # the frame route -----------------------------------------------------------------------------------

    def _refused(self, e: Exception) -> None:
        """A message the dispatcher refused (either engine)."""
        if isinstance(e, BookError):
            # A book waiting for its snapshot behind a long burst filled its buffer (the oldest deltas
            # were dropped): it needs a snapshot newer than them.
            self.counters["book_errors"] += 1
            self.status("out_of_sync", detail=str(e)[:200])
            for s in self._book_symbols():
                if not self.is_synced(s):
                    self.resync(self._keys[s], "buffer full")
            return
        self.counters["decode_errors"] += 1
        self.status("decode_error", detail=str(e)[:200])

    def on_summary(self, summary: Any, gateway: str | None) -> None:
        kind, updates, value = summary
        if kind == "dropped":
            self._dropped([key for key, _ in updates], value)
            return
        if kind == "trades_lost":
            symbol, n = value
            self.counters["dropped"] += n
            self.status(
                "dropped",
                symbol=symbol,
                detail=f"{n} trades of gateway {gateway}'s stream lost on the bus "
                "(another gateway may have brought them)",
            )
            return
        for key, outcome in updates:
            if outcome == "buffered":
                self.resync(key, "initial snapshot")
            elif outcome in LOST_SYNC:
                self.counters["gaps"] += 1
                self.status("out_of_sync", symbol=key, detail=LOST_SYNC[outcome])
                self.resync(key, LOST_SYNC[outcome])
            elif outcome == "invalidated":
                self.status("out_of_sync", symbol=key, detail="gateway lost the book")
                self.resync(key, "gateway lost the book")
        if kind == "trade":
            for trade in value:  # a bus message carries one
                self._event(gateway, kind, trade, trade.trade_id is not None)
        elif kind == "bbo" and value is not None:
            self._event(gateway, kind, value, False)

    def _dropped(self, keys: list[str], counts: dict[str, Any]) -> None:
        """engine "rust": the subscriber's backlog was full (the loop did not drain it for a while) and
        its oldest messages went. A book that lost one has a hole that only a later message of its own
        would reveal — none may come on a quiet book — so it goes out of sync now and resyncs; lost
        trades cannot be fetched again, so they are reported (status ``dropped``), not left silent."""
        lost = sum(int(counts[k]) for k in ("books", "trades", "bbos", "other"))
        self.counters["dropped"] += lost
        books = {self._keys[s] for s in self._book_symbols()}
        for key in sorted(books) if counts["all_books"] else [k for k in keys if k in books]:
            self.counters["gaps"] += 1
            # A book resyncing already (its snapshot on the way) asks again once that one is in: the
            # deltas it buffered for the replay may be the ones lost, and the replay shows the gap.
            self.feed.invalidate(key)
            self.status("out_of_sync", symbol=key, detail="bus backlog full: book messages dropped")
            self.resync(key, "bus backlog full")
        detail = ", ".join(f"{counts[k]} {k}" for k in ("books", "trades", "bbos", "other") if counts[k])
        self.status("dropped", detail=f"bus backlog full, oldest messages dropped: {detail}")

    def _event(self, gateway: str | None, kind: str, value: Trade | Bbo, any_gateway: bool) -> None:
        """``any_gateway``: a trade with the venue's id, whose copy from another gateway the feed
        already dropped, so the first gateway to bring it delivers it — a closing one too. Other
        events come from one gateway per symbol (gateways may split a venue's symbols, and the primary
        may not have this one)."""
        if gateway in self._closing and not any_gateway:
            # Its last events, sent while it closes: another gateway's follow. Not a trade with the
            # venue's id: the feed passed this copy as the first and drops the others as duplicates,
            # so this one is the only copy delivered.
            return
        if self.primary is None:
            self.primary = gateway
        source = self._sources.setdefault(value.symbol, gateway)
        if gateway != source and not any_gateway:
            return
        cb = self.on_trade if kind == "trade" else self.on_bbo
        if cb is not None:
            try:
                cb(value)
            except Exception:
                log.exception("remote %s: user callback raised", self.venue)
        if self._events is not None:
            self._events.put(kind, value)

    def release_held(self) -> None:
        summary = self.dispatcher.release_held(time.monotonic_ns())
        if summary is not None:
            self.on_summary(summary, None)

    async def _release_loop(self, hold_s: float) -> None:
        # Later messages release a held one too, but a quiet market may bring none for a while.
        while not self.closing:
            await asyncio.sleep(max(hold_s / 2, 0.005))
            self.release_held()

    # snapshots -----------------------------------------------------------------------------------------

    def resync(self, key: str, why: str) -> None:
        self._snapshots.request(key, why)

    # status --------------------------------------------------------------------------------------------

    def _check_behind(self, name: str, body: dict[str, Any]) -> None:
        """A heartbeat says the gateway's books' states and which venue id each book's latest message
        reached: a book behind what two beats in a row announce asks for a snapshot; one that stays
        ahead of what every gateway serving it announces (it lost a restart snapshot: the venue
        numbered the book afresh, and every delta since is below it) is rebuilt from one."""
        market = (body.get("markets") or {}).get(self.venue) or {}
        self._upstream.report(name, market.get("states"))
        keys = [self._keys[s] for s in self._book_symbols()]
        ids = market.get("ids") or {}
        for key in self._upstream.behind(name, ids, self.feed, keys):
            self.resync(key, "behind the gateway's heartbeat")
        st = None if self.watch is None else self.watch.gateways.get(name)
        if st is None or name not in self._live_gateways():
            return
        serving = functools.partial(live_gateways, self.watch, self.venue, self.gateway)
        for key in self._upstream.ahead(name, ids, self.feed, keys, serving, time.monotonic(), st.interval):
            # Its own id is above every message it is sent: only an out-of-sync book takes a lower one.
            if self.feed.invalidate(key):
                self.status("out_of_sync", symbol=key, detail="ahead of every gateway (a lost restart)")
            self.resync(key, "ahead of every gateway's heartbeat")

    def _gateway_change(self, name: str, alive: bool) -> None:
        self.status("gateway_up" if alive else "gateway_down", detail=name)
        if alive:
            self._closing.discard(name)  # back (a new instance, or heard again after its beats stopped)
            st = None if self.watch is None else self.watch.gateways.get(name)
            if st is not None:
                keys = [self._keys[s] for s in self._book_symbols()]
                venue_wide = self.adapter.redundant_ok  # the same ids on every connection
                for key in self._upstream.restarted(name, st.instance, keys, venue_wide):
                    if self.feed.invalidate(key):
                        self.status("out_of_sync", symbol=key, detail="gateway restarted")
            # A gateway (back) serving the venue: books that waited for one resync from it.
            for s in self._book_symbols():
                if not self.is_synced(s):
                    self.resync(self._keys[s], "gateway up")
            return
        self._no_source(name)
        if not self._live_gateways():
            # Nothing serves these books any more: they say so instead of ageing silently, and
            # rebuild from a snapshot when a gateway returns.
            self.feed.reset()
            return
        # Other gateways live, but perhaps none with some of these books (they split the symbols).
        for s in self._book_symbols():
            key = self._keys[s]
            if not live_gateways(self.watch, self.venue, self.gateway, key) and self.feed.invalidate(key):
                self.status("out_of_sync", symbol=key, detail="no live gateway serves the book")

    def _no_source(self, name: str) -> None:
        """The gateway ``name`` gone or closing: trades and BBOs continue from another live one."""
        if self.gateway == "*":
            if name == self.primary:
                self.primary = None
            self._sources = {s: g for s, g in self._sources.items() if g != name}

    async def _on_status_msg(self, msg: Any) -> None:
        try:
            body = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(body, dict):
            return
        self._upstream.report(str(body.get("gateway")), body.get("states"))
        if body.get("closing") is True:
            self._closing.add(str(body.get("gateway")))
            self._no_source(str(body.get("gateway")))
        if body.get("kind") == "books":  # only the states changed: not a session event
            return
        self.status(
            f"gateway_{body.get('kind', 'status')}",
            symbol=body.get("symbol"),
            detail=str(body.get("detail", "")),
        )

    def status(self, kind: str, *, symbol: str | None = None, detail: str = "") -> None:
        ev = StatusEvent(kind, self.venue, None, symbol, detail)  # type: ignore[arg-type]
        if self.on_status is not None:
            try:
                self.on_status(ev)
            except Exception:
                log.exception("remote %s: on_status raised", self.venue)
        if self._events is not None:
            self._events.put("status", ev)

    def _callback_error(self, exc: BaseException) -> None:
        log.error(
            "remote %s: on_book callback raised", self.venue, exc_info=(type(exc), exc, exc.__traceback__)
        )


# The local session's channel names → the bus subjects' ("trades" subscribes to trade messages).
_CHANNEL = {"trades": "trade", "bbo": "bbo", "book": "book"}


def connect(
    servers: str | Sequence[str],
    venue: str,
    symbols: Iterable[str],
    **options: Any,
) -> RemoteMarketData:
    """``async with tickwire.remote.connect(nats_url, venue, symbols) as md``: the same books and
    callbacks as ``tickwire.connect(venue, symbols)``, fed by a gateway."""
    return RemoteMarketData(servers, venue, symbols, **options)
