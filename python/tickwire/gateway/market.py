"""One ``[[market]]`` of a gateway: a tickwire market-data session whose books, trades, BBOs and
status go onto the bus, and the snapshot service consumers rebuild a book from.

Every changed book is published as one binary delta encoded in Rust (``BookFeed.take_delta``: the
levels that changed since the last message, exact mantissas, the venue's ids and the gateway's own
contiguous sequence); a book replaced by a snapshot, rescaled or lost goes out as a snapshot or an
out-of-sync message, so a consumer's book follows the gateway's exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson

from tickwire import connect
from tickwire._core import Bbo, OrderBook, Trade, bus_bbo, bus_header, bus_trade
from tickwire.bus import subjects
from tickwire.bus.publish import publish_now
from tickwire.clock import wall_minus_monotonic_ns
from tickwire.gateway.config import MarketConfig
from tickwire.session.events import StatusEvent

log = logging.getLogger("tickwire.gateway")

# How often every book is looked at for a change the callbacks did not announce (a resync applied
# off the frame path, a reconnect that emptied the books): take_delta is a no-op when nothing changed.
SWEEP_S = 0.05
# How long a wall-minus-monotonic offset is reused for stamping books (it changes only when the wall
# clock is stepped).
OFFSET_REFRESH_NS = 1_000_000_000


class MarketPublisher:
    def __init__(self, nc: Any, config: MarketConfig, *, gateway: str) -> None:
        self.nc = nc
        self.config = config
        self.gateway = gateway
        self.venue = config.venue
        opts = dict(config.options)
        self.md = connect(
            config.venue,
            config.symbols,
            channels=config.channels,  # type: ignore[arg-type]
            on_book=self._on_book,
            on_trade=self._on_trade,
            on_bbo=self._on_bbo,
            on_status=self._on_status,
            **opts,
        )
        self.feed = self.md.feed
        # Journal before the first frame: every level the books ever hold is in some message.
        self.feed.journal(True)
        self._subjects: dict[str, str] = {}
        self._trade_seq: dict[str, int] = {}
        self._bbo_seq: dict[str, int] = {}
        self.published = 0
        self.sent_ids: dict[str, int] = {}
        self.snapshots_served = 0
        self._snap_sub: Any = None
        self._sweeper: asyncio.Task[None] | None = None
        self._status_subject = subjects.status(self.venue, gateway)
        # Book states as consumers were last told them (status messages, heartbeats): a book told
        # unsynced is announced again the moment it is synced (``_on_book``), not a beat later.
        self._told: dict[str, bool] = {}
        self._recheck_due = False
        self._offset_ns, self._offset_at = wall_minus_monotonic_ns(), time.monotonic_ns()
        self._closed = False
        # The books this gateway serves, named in every report from its first on: a book it has not
        # synced yet is reported unsynced, not left out — a report naming none of them vouched for a
        # consumer's copy kept from this gateway's earlier instance while this one was still starting.
        self._book_keys = (
            [self.md.adapter.book_key(s) for s in config.symbols] if "book" in config.channels else []
        )

    def _subject(self, symbol: str, channel: str) -> str:
        k = symbol + "\0" + channel
        s = self._subjects.get(k)
        if s is None:
            s = self._subjects[k] = subjects.market(self.venue, symbol, channel, self.gateway)
        return s

    # the frame route's callbacks (on the loop, inside the frame callback) -----------------------------

    def _on_book(self, book: OrderBook) -> None:
        # The stamp is when the venue's frame was read (its monotonic receive time on the wall
        # clock), so a consumer's bus stage covers gateway receive → its own callback.
        recv = book.recv_ns
        if recv is None:
            self._publish_book(book.symbol)
            return
        # One offset for a while, not two clock reads per book: a preemption between those reads
        # moved the stamp by as long as it lasted, before the venue had even written the frame.
        if recv - self._offset_at > OFFSET_REFRESH_NS:
            self._offset_ns, self._offset_at = wall_minus_monotonic_ns(), recv
        self._publish_book(book.symbol, recv + self._offset_ns)

    def book_states(self) -> dict[str, Any]:
        """Per book key, whether this gateway's book is in sync and, after its venue connection came
        back, its continuity proven by a message on the new connection (what ``is_synced`` of the
        local session says). Consumers add it to their own books' state: until then their copy may
        be missing what the venue sent while this gateway was disconnected. ``seq`` orders the
        reports (heartbeats and status messages travel on different subjects): the wall clock in
        ns, so a restarted gateway's reports also follow its earlier ones."""
        if not self._closed:
            # What changed goes out first: a book reported in sync is one whose messages were sent (a
            # resync applied off the frame path waits for the sweep, and a beat may come before it).
            self.sweep()
        books = {key: self._book_state(key) for key in (*self._book_keys, *self.feed.symbols())}
        self._told = books
        return {"seq": time.time_ns(), "books": books}

    def _book_state(self, key: str) -> bool:
        if self._closed:  # publishing nothing more: consumers' copies age from here
            return False
        try:
            return bool(self.feed.book(key).is_synced)
        except KeyError:
            return False

    def _publish_book(self, symbol: str, stamp_ns: int | None = None) -> None:
        payload = self.feed.take_delta(symbol, time.time_ns() if stamp_ns is None else stamp_ns)
        if payload is not None:
            publish_now(self.nc, self._subject(symbol, "book"), payload)
            self.published += 1
            # The venue id the book's latest message brought consumers to (heartbeats announce it:
            # a consumer that lost the last message of a quiet book learns it is behind).
            self.sent_ids[symbol] = bus_header(payload)[3]
            if self._told.get(symbol) is False and not self._recheck_due:
                # Not here: this runs inside the frame route, whose dispatcher cannot be asked
                # whether a book is proven until the frame's call returns — the next loop step.
                asyncio.get_running_loop().call_soon(self._recheck_told)
                self._recheck_due = True

    def _recheck_told(self) -> None:
        """Announces the books' states when one consumers were told is unsynced is synced again."""
        self._recheck_due = False
        if self._closed:
            return
        if any(told is False and self._book_state(k) for k, told in self._told.items()):
            self._announce_states(None)

    def _on_trade(self, trade: Trade) -> None:
        sym = trade.symbol
        seq = self._trade_seq[sym] = self._trade_seq.get(sym, 0) + 1
        publish_now(self.nc, self._subject(sym, "trade"), bus_trade(trade, seq, time.time_ns()))
        self.published += 1

    def _on_bbo(self, bbo: Bbo) -> None:
        sym = bbo.symbol
        seq = self._bbo_seq[sym] = self._bbo_seq.get(sym, 0) + 1
        publish_now(self.nc, self._subject(sym, "bbo"), bus_bbo(bbo, seq, time.time_ns()))
        self.published += 1

    def _on_status(self, ev: StatusEvent) -> None:
        # A resync, reconnect or lost book changes books off the frame path: publish what changed.
        self.sweep()
        self._announce_states(ev)

    def _announce_states(self, ev: StatusEvent | None) -> None:
        """A status message with the books' states: for a session status event, or (``ev`` None) when a
        book consumers were told is unsynced is synced again."""
        body: dict[str, Any] = {"gateway": self.gateway, "venue": self.venue}
        if ev is None:
            body.update(kind="books", ts_ns=time.time_ns())
        else:
            body.update(kind=ev.kind, line=ev.line, symbol=ev.symbol, detail=ev.detail, ts_ns=ev.ts_ns)
        body["states"] = self.book_states()
        if self._closed:
            # Consumers take their trades and BBOs from another gateway now, not after its beats
            # are missed.
            body["closing"] = True
        publish_now(self.nc, self._status_subject, orjson.dumps(body))

    def sweep(self) -> None:
        for key in self.feed.symbols():
            self._publish_book(key)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                self.sweep()
            except Exception:
                log.exception("%s: gateway sweep failed", self.venue)

    # snapshots on request ------------------------------------------------------------------------------

    async def _serve_snapshot(self, msg: Any) -> None:
        try:
            # A token that is no %-escaping of a symbol ("%ZZ") is refused as an unknown symbol is:
            # raised before this ``try``, it left the request unanswered (its asker timing out).
            symbol = subjects.untoken(msg.subject.split(".")[3])
            # Whatever changed is published first, so the snapshot's sequence is the stream's latest.
            self._publish_book(symbol)
            body = self.feed.bus_snapshot(symbol, time.time_ns())
            headers = None
        except Exception as e:  # unknown symbol, book not in sync: the consumer asks again
            body, headers = b"", {"Tickwire-Error": f"{type(e).__name__}: {e}"[:200]}
        if msg.reply:
            await self.nc.publish(msg.reply, body, headers=headers)
            self.snapshots_served += 1

    # lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        service = subjects.snapshot_service(self.venue, self.gateway)
        self._snap_sub = await self.nc.subscribe(service, cb=self._serve_snapshot)
        await self.md.start(wait=False)
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())

    def health(self) -> dict[str, Any]:
        h = self.md.health()
        return {
            "synced": {s: self.md.is_synced(s) for s in self.md.symbols()},
            "published": self.published,
            "snapshots_served": self.snapshots_served,
            "lines_up": sum(1 for ln in h["lines"] if ln["connected"]),
            "ids": dict(self.sent_ids),
            "states": self.book_states(),
        }

    async def close(self) -> None:
        self._closed = True
        # Said before the books stop: a consumer would otherwise count them in sync on this gateway's
        # last report until its heartbeats are missed (or, restarted within that, on the new
        # instance's) while the venue moves on without them.
        with contextlib.suppress(Exception):
            self._announce_states(None)
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._snap_sub is not None:
            with contextlib.suppress(Exception):
                await self._snap_sub.unsubscribe()
        await self.md.close()
