"""``tickwire.remote.connect``: the books, trades and BBOs of a venue that a gateway serves on NATS,
with the same objects and callbacks as :func:`tickwire.connect`.

Every bus message goes through the same frame route as a venue's frame: the ``Dispatcher`` decodes it
(Rust ``rust/bus``), applies it to a ``BookFeed("bus")`` book and calls ``on_book`` with the live
``OrderBook`` view.

The market-data subjects are received by one of two engines (``engine=``):

- ``"rust"`` (the default where the extension has it): ``BusSubscriber``, an async-nats client on its
  own thread in the extension (rust/bus/sub.rs, the engine benches/bench_nats_engine.py chose). The
  event loop watches its eventfd; each wake-up is one ``pump`` call that puts every message that came
  through the dispatcher in Rust and returns only what Python must act on;
- ``"nats-py"``: a nats-py subscription, one ``Dispatcher.on_frame`` call per message (the fallback).

Status events, heartbeats and snapshot requests go over nats-py either way.

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

from tickwire import _core
from tickwire._core import BookFeed, Dispatcher, Histogram, LatencyRecorder, OrderBook, bus_header
from tickwire.bus import subjects
from tickwire.bus.client import connect as bus_connect
from tickwire.bus.client import servers as bus_servers
from tickwire.errors import BookError, DecodeError, RequestTimeoutError, ValueRangeError
from tickwire.remote.liveness import GatewayWatch
from tickwire.session import adapter_for
from tickwire.session.events import EventQueue, StatusEvent

log = logging.getLogger("tickwire.remote")

STAGES = ("decode_apply", "callback")
_LOST = {"gap": "gap", "checksum_mismatch": "checksum", "crossed": "crossed"}
_NO_ID = -(2**63)  # a bus message's venue id when the venue numbers no updates
ENGINES = ("rust", "nats-py")


def default_engine() -> str:
    """``"rust"`` when the extension has the subscriber (Linux builds), else ``"nats-py"``."""
    return "rust" if hasattr(_core, "BusSubscriber") else "nats-py"


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
    ) -> None:
        engine = engine if engine is not None else default_engine()
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        if engine == "rust" and not hasattr(_core, "BusSubscriber"):
            raise ValueError('engine="rust": this build of the extension has no BusSubscriber')
        self.engine = engine
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
        }  # fmt: skip
        self.nc: Any = None
        self.watch: GatewayWatch | None = None
        self._missed = missed_beats
        self._subs: list[Any] = []
        # engine="rust": the market-data subscription in the extension, and the loop watching it.
        self.sub: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resyncs: dict[str, asyncio.Task[None]] = {}
        self._views: dict[str, OrderBook] = {}
        self._events: EventQueue | None = None
        self.closing = False
        self._behind: dict[str, int | None] = {}
        # Per gateway, its books' states as it last reported them ((seq, {key: synced}), heartbeats and
        # status messages): a gateway whose venue connection dropped reports its books unsynced until
        # a message on the new connection proved them continuous, and so are the copies here.
        self._upstream: dict[str, tuple[int, dict[str, bool]]] = {}
        self._last_stamp_ns = 0
        # Trades and BBOs are delivered from one gateway (the first live one), not once per gateway.
        self.primary: str | None = None if gateway == "*" else gateway

    @property
    def last_stamp_ns(self) -> int:
        """The gateway's stamp (wall ns) of the message being handled: read it in ``on_book`` to time
        gateway → strategy (engine "nats-py": with ``latency`` on only)."""
        if self.sub is not None:
            return int(self.sub.last_stamp_ns)
        return self._last_stamp_ns

    # public (MarketData's shape) -----------------------------------------------------------------------

    def book(self, symbol: str) -> OrderBook:
        key = self._keys.get(symbol, symbol)
        v = self._views.get(key)
        if v is None:
            v = self._views[key] = self.feed.book(key)
        return v

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
        # A book no live gateway reported on yet counts as synced (its snapshot came from one).
        told = [self._upstream[n][1].get(key) for n in self._live_gateways() if n in self._upstream]
        return not told or any(t is not False for t in told)

    def _upstream_report(self, name: str, states: object) -> None:
        """A gateway's report of its books' states, kept unless an older one arrives after it."""
        if not isinstance(states, dict):
            return
        seq, books = states.get("seq"), states.get("books")
        if not isinstance(seq, int) or not isinstance(books, dict):
            return
        had = self._upstream.get(name)
        if had is None or seq > had[0]:
            self._upstream[name] = (seq, {str(k): bool(v) for k, v in books.items()})

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
            try:
                b = self.book(s)
                books[s] = {
                    "state": b.state,
                    "synced": self.is_synced(s),
                    "upstream_synced": self._upstream_synced(self._keys[s]),
                    "resyncing": self._keys[s] in self._resyncs,
                }
            except KeyError:
                books[s] = {"state": "empty", "synced": False, "resyncing": self._keys[s] in self._resyncs}
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
            # errors, dropped, pending, last_error, running.
            "subscriber": sub_state,
            "connected": connected,
            "server": None
            if self.nc is None or self.nc.connected_url is None
            else self.nc.connected_url.netloc,
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
        if self.engine == "rust":
            loop = asyncio.get_running_loop()
            # Connecting blocks (without the GIL) until the server has the subscriptions: off the loop.
            self.sub = await loop.run_in_executor(
                None, _core.BusSubscriber, bus_servers(self.servers), market
            )
            self._loop = loop
            loop.add_reader(self.sub.fileno(), self._pump)
        else:
            for subject in market:
                self._subs.append(await self.nc.subscribe(subject, cb=self._on_msg))
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
        for t in list(self._resyncs.values()):
            t.cancel()
        if self.sub is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self.sub.fileno())
            self.sub.close()
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

    async def _on_msg(self, msg: Any) -> None:
        t0 = time.monotonic_ns()
        data = msg.data
        self.counters["messages"] += 1
        try:
            if self.bus_hop is not None:
                stamp = self._last_stamp_ns = bus_header(data)[4]
                self.bus_hop.record(max(time.time_ns() - stamp, 0))
            summary = self.dispatcher.on_frame(data, t0, 1)
        except (DecodeError, ValueRangeError) as e:
            self.counters["decode_errors"] += 1
            self.status("decode_error", detail=str(e)[:200])
            return
        except BookError as e:
            self._book_error(e)
            return
        if summary is not None:
            self.on_summary(summary, subjects.last_token(msg.subject))

    def _pump(self) -> None:
        # engine "rust": the eventfd is readable. One call takes every message that came; what comes
        # back is (gateway, summary) for what needs Python, (gateway, exception) for a refused message.
        try:
            out = self.sub.pump(self.dispatcher, self.bus_hop)
        except Exception:
            log.exception("remote %s: the bus subscriber's pump failed", self.venue)
            return
        self.counters["messages"] = self.sub.pumped
        if out is None:
            return
        for gateway, item in out:
            if isinstance(item, (DecodeError, ValueRangeError)):
                self.counters["decode_errors"] += 1
                self.status("decode_error", detail=str(item)[:200])
            elif isinstance(item, BookError):
                self._book_error(item)
            elif isinstance(item, BaseException):
                log.warning("remote %s: a bus message failed: %r", self.venue, item)
            else:
                self.on_summary(item, gateway)

    def _book_error(self, e: BookError) -> None:
        # A book waiting for its snapshot behind a long burst filled its buffer (the oldest deltas
        # were dropped): it needs a snapshot newer than them.
        self.counters["book_errors"] += 1
        self.status("out_of_sync", detail=str(e)[:200])
        for s in self._book_symbols():
            if not self.is_synced(s):
                self.resync(self._keys[s], "buffer full")

    def on_summary(self, summary: Any, gateway: str | None) -> None:
        kind, updates, value = summary
        for key, outcome in updates:
            if outcome == "buffered":
                self.resync(key, "initial snapshot")
            elif outcome in _LOST:
                self.counters["gaps"] += 1
                self.status("out_of_sync", symbol=key, detail=_LOST[outcome])
                self.resync(key, _LOST[outcome])
            elif outcome == "invalidated":
                self.status("out_of_sync", symbol=key, detail="gateway lost the book")
                self.resync(key, "gateway lost the book")
        if (kind == "trade" or kind == "bbo") and value is not None:
            if self.primary is None:
                self.primary = gateway
            if gateway != self.primary:
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
        if key in self._resyncs or self.closing:
            return
        self.counters["resyncs"] += 1
        self.feed.clear_held(key)
        task = asyncio.get_running_loop().create_task(self._resync(key, why))
        self._resyncs[key] = task
        task.add_done_callback(functools.partial(self._resync_done, key))

    def _resync_done(self, key: str, _task: asyncio.Task[None]) -> None:
        self._resyncs.pop(key, None)

    async def _resync(self, key: str, why: str) -> None:
        delay = 0.02
        end = time.monotonic() + max(self.resync_timeout, 1.0) * 8
        while not self.closing and time.monotonic() < end:
            gw = self._snapshot_gateway()
            if gw is not None:
                try:
                    msg = await self.nc.request(
                        subjects.snapshot(self.venue, key, gw), b"", timeout=self.resync_timeout
                    )
                    if msg.headers is None or "Tickwire-Error" not in msg.headers:
                        summary = self.feed.on_snapshot(key, msg.data)
                        self.counters["snapshots"] += 1
                        if self.feed.book(key).is_synced:
                            self.status("synced", symbol=key, detail=why)
                            return
                        self.on_summary(summary, gw)
                except Exception as e:  # a timeout, no responder, a gateway still resyncing itself
                    log.debug("remote %s: snapshot of %s from %s failed: %s", self.venue, key, gw, e)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        if not self.closing:
            self.status("out_of_sync", symbol=key, detail="no gateway served a snapshot")

    def _snapshot_gateway(self) -> str | None:
        if self.gateway != "*":
            # Asked by name even before its first heartbeat arrives: a dead one has no responder.
            return self.gateway
        live = self._live_gateways()
        if self.primary in live:
            return self.primary
        return live[0] if live else None

    def _live_gateways(self) -> list[str]:
        if self.watch is None:
            return []
        return [
            n
            for n, st in self.watch.gateways.items()
            if st.alive and self.venue in (st.body.get("markets") or {}) and self.gateway in ("*", n)
        ]

    # status --------------------------------------------------------------------------------------------

    def _check_behind(self, name: str, body: dict[str, Any]) -> None:
        """A heartbeat says which venue id each book's latest message reached. NATS delivers at most
        once: a book that lost the last message of a quiet spell has no later one to show the gap, so
        a book behind what two beats in a row announce asks for a snapshot."""
        market = (body.get("markets") or {}).get(self.venue) or {}
        self._upstream_report(name, market.get("states"))
        ids = market.get("ids") or {}
        for s in self._book_symbols():
            key = self._keys[s]
            announced = ids.get(key)
            if not isinstance(announced, int) or announced == _NO_ID:
                continue
            try:
                book = self.feed.book(key)
            except KeyError:
                continue
            mine = book.last_update_id
            behind = book.is_synced and mine is not None and mine < announced
            if behind and self._behind.get(key) == announced:
                self.resync(key, "behind the gateway's heartbeat")
            self._behind[key] = announced if behind else None

    def _gateway_change(self, name: str, alive: bool) -> None:
        self.status("gateway_up" if alive else "gateway_down", detail=name)
        if alive:
            # A gateway (back) serving the venue: books that waited for one resync from it.
            for s in self._book_symbols():
                if not self.is_synced(s):
                    self.resync(self._keys[s], "gateway up")
            return
        if name == self.primary and self.gateway == "*":
            # Trades and BBOs continue from another live gateway.
            self.primary = None
        if not self._live_gateways():
            # Nothing serves these books any more: they say so instead of ageing silently, and
            # rebuild from a snapshot when a gateway returns.
            self.feed.reset()

    async def _on_status_msg(self, msg: Any) -> None:
        try:
            body = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return
        if not isinstance(body, dict):
            return
        self._upstream_report(str(body.get("gateway")), body.get("states"))
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
