"""Order events and fills onto JetStream: every change the account's trading session reports
(``on_order``/``on_fill``) becomes one message on ``tw.evt.<venue>.<account>.order|fill`` in the stream
``TW_EVENTS`` — durable, replayable from any sequence, read by remote clients' durable consumers.

The trading path never waits for the bus: the callbacks only append to a queue, and one task per
account publishes from it in order, awaiting each publish ack and retrying a failed publish (a node
down, a stream leader being elected) until it is stored. Each message carries a ``Nats-Msg-Id`` made
of what identifies the event — the order's client id, status, filled and working quantity, price and
venue time; a fill's symbol and venue trade id — so one published again (a retry whose ack was lost, a
restarted gateway reporting what its predecessor already did) falls inside the stream's duplicate
window and is dropped by JetStream, not delivered twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from tickwire.bus import codec, subjects
from tickwire.errors import TransportError
from tickwire.trading.codes import invalid_order
from tickwire.trading.orders import Fill, Order
from tickwire.trading.wire import unsent

log = logging.getLogger("tickwire.gateway")

# How long JetStream remembers a message id (the window in which a republish is dropped) and how long
# events are kept: a client away for longer than MAX_AGE_S resumes at the oldest event still kept.
DUPLICATE_WINDOW_S = 120.0
MAX_AGE_S = 7 * 86_400.0
# A JetStream cluster answers only once its meta leader is elected (seconds after the nodes start).
STREAM_READY_S = 20.0
RETRY_S = (0.05, 0.1, 0.2, 0.5, 1.0)
# The longest a place waits for its order to be written ahead in the ledger (``placing``): a store
# that answers takes milliseconds; one that does not must not hold trading up.
WRITE_AHEAD_S = 0.25
# The backlog — events JetStream has not taken yet (and the ledger not kept after them) — past which
# new order entry (place, place_many, amend) is refused, unsent (``refuse_if_backed_up``), until
# JetStream takes it back under: in events, and in bytes of the events not yet published. Nothing
# queued is ever dropped; the events of orders already at the venue (their cancels, fills, ends) are
# still queued past it — bounded by what those orders can still do.
BACKLOG_MAX = 10_000
BACKLOG_MAX_BYTES = 16 * 1024 * 1024
# How often a ledger note held back (``holds`` False: the lease unsure) looks again.
HOLD_POLL_S = 0.05


def cluster_size(nc: Any) -> int:
    """Nodes of the cluster ``nc`` is connected to, from the server's INFO (``connect_urls`` lists
    every node's client URL, its own included; a lone server sends none)."""
    info = getattr(nc, "_server_info", None) or {}
    return max(1, len(info.get("connect_urls") or ()))


async def ensure_stream(nc: Any) -> Any:
    """Creates ``TW_EVENTS`` on ``tw.evt.>`` (file storage, ``min(3, cluster size)`` replicas), or
    updates it to that config; retried while the cluster's JetStream is not ready yet."""
    js = nc.jetstream(timeout=1.0)
    cfg = StreamConfig(
        name=subjects.EVENTS_STREAM,
        subjects=[subjects.EVENTS_SUBJECTS],
        storage=StorageType.FILE,
        num_replicas=min(3, cluster_size(nc)),
        duplicate_window=DUPLICATE_WINDOW_S,
        max_age=MAX_AGE_S,
    )
    end = time.monotonic() + STREAM_READY_S
    while True:
        try:
            try:
                return await js.add_stream(cfg)
            except BadRequestError as e:
                if e.err_code != 10058:  # "already in use with a different configuration"
                    raise
                return await js.update_stream(cfg)
        except Exception as e:
            if isinstance(e, BadRequestError) or time.monotonic() > end:
                raise
            log.info("JetStream not ready (%s); retrying", e)
            await asyncio.sleep(0.2)


def order_msg_id(venue: str, account: str, o: Order) -> str:
    price = "" if o.price is None else str(o.price)
    return f"{venue}/{account}/o/{o.client_id}/{o.status}/{o.filled}/{o.qty}/{price}/{o.updated_ns or ''}"


def fill_msg_id(venue: str, account: str, f: Fill) -> str:
    # The order too: both sides of a self-trade carry one trade id, and both are fills of the account.
    return f"{venue}/{account}/f/{f.symbol}/{f.trade_id}/{f.client_id or f.order_id or ''}"


class EventPublisher:
    """One account's events, published in the order the session reported them."""

    def __init__(self, nc: Any, venue: str, account: str, gateway: str) -> None:
        self.js = nc.jetstream(timeout=2.0)
        self.venue = venue
        self.account = account
        self.gateway = gateway
        self._subject = {k: subjects.events(venue, account, k) for k in ("order", "fill")}
        self._queue: deque[tuple[str, str, bytes, Order | Fill]] = deque()
        self._queued_bytes = 0  # of the events in ``_queue``
        self.refused = 0  # new orders refused for the backlog (``refuse_if_backed_up``)
        self._refusing = False  # logged once each time the backlog reaches its bound
        # What the clients last heard, kept for the next gateway (``state.Ledger``; None: nothing kept).
        self.ledger: Any = None
        self.heard_open: set[str] = set()  # client ids the ledger holds open
        self.muted = False  # the account is served by another gateway now: nothing published
        # Whether the account is surely this gateway's now (``LeaseWatch.serving``: its lease renewed
        # within VALID_S, its link not lost). Cut off from the store, it may have been taken over:
        # its successor read the ledger at its start, so an order noted open after that is never
        # taken out (the successor tells its end itself) and a later gateway's catch-up tells that
        # end again. The ledger is written only while this holds (``_keep``, ``_leave_to_next``).
        self.holds: Callable[[], bool] = lambda: True
        self._noted: deque[Order | Fill] = deque()  # published, the ledger not yet kept after them
        self._ahead: dict[str, asyncio.Future[None]] = {}  # orders being placed, written ahead (``placing``)
        self._noted_ready = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._mark: dict[str, tuple[int, list[str]]] = {}  # per symbol, newest fill published: ms, ids
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.duplicates = 0  # dropped by JetStream's duplicate window
        self.retries = 0
        self.last_seq = 0

    def start(self) -> EventPublisher:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._drain())
        self._keeper = loop.create_task(self._keep())
        return self

    # the session's callbacks: they only queue ---------------------------------------------------------

    def on_order(self, o: Order) -> None:
        self._put("order", order_msg_id(self.venue, self.account, o), o)

    def on_fill(self, f: Fill) -> None:
        self._put("fill", fill_msg_id(self.venue, self.account, f), f)

    def _put(self, kind: str, msg_id: str, value: Order | Fill) -> None:
        if self.muted:
            return
        body = {"kind": kind, kind: codec.dump(value), "gateway": self.gateway, "ts_ns": time.time_ns()}
        data = orjson.dumps(body)
        # Queued whatever the backlog: the venue has done it, and the clients must hear it. New
        # orders, which would add to it, are what is refused (``refuse_if_backed_up``).
        self._queue.append((kind, msg_id, data, value))
        self._queued_bytes += len(data)
        self._ready.set()

    # the backlog's bound ------------------------------------------------------------------------------

    def backed_up(self) -> bool:
        """The backlog is at its bound (``BACKLOG_MAX`` events, ``BACKLOG_MAX_BYTES`` bytes)."""
        return self.unstored >= BACKLOG_MAX or self._queued_bytes >= BACKLOG_MAX_BYTES

    @property
    def unstored(self) -> int:
        """Events not yet stored in JetStream, and those the ledger is not yet kept after."""
        return len(self._queue) + len(self._noted)

    def refuse_if_backed_up(self, what: str) -> None:
        """Raises ``TransportError`` (unsent: nothing reached the venue) while the backlog is at its
        bound — JetStream away long enough for that many events to wait — so new orders stop adding
        events clients could not hear, rather than events being dropped or memory running out. Cancels
        and the kill are not refused: they take risk away, and their events are bounded by the
        orders already open."""
        if not self.backed_up():
            if self._refusing:
                self._refusing = False
                log.warning("%s/%s: event backlog under its bound again; new orders accepted",
                            self.venue, self.account)  # fmt: skip
            return
        self.refused += 1
        if not self._refusing:
            self._refusing = True
            log.error("%s/%s: %d events (%d bytes) not yet stored in JetStream: new orders refused until "
                      "they are", self.venue, self.account, self.unstored, self._queued_bytes)  # fmt: skip
        raise unsent(
            TransportError(
                f"{self.venue}/{self.account}: {what} refused: {self.unstored} events not yet stored in "
                f"JetStream (bound {BACKLOG_MAX} events, {BACKLOG_MAX_BYTES} bytes); not sent — "
                "try again once the event store takes them"
            )
        )

    # the publishing task ---------------------------------------------------------------------------

    async def _drain(self) -> None:
        while True:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            kind, msg_id, data, value = self._queue[0]
            attempt = 0
            while True:
                try:
                    ack = await self.js.publish(self._subject[kind], data, headers={"Nats-Msg-Id": msg_id})
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    # Kept at the head of the queue: later events wait, so the stream keeps their order.
                    self.retries += 1
                    log.warning("%s/%s: event publish failed (%s); retrying", self.venue, self.account, e)
                    await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
                    attempt += 1
            self._queue.popleft()
            self._queued_bytes -= len(data)
            self.published += 1
            self.duplicates += bool(ack.duplicate)
            self.last_seq = ack.seq
            if self.ledger is not None:
                # Kept by a task of its own: the next event does not wait on the store's round trip
                # (nor, the store away, on its time-out); one task keeps an order's open/end in order.
                self._noted.append(value)
                self._noted_ready.set()

    async def _keep(self) -> None:
        while True:
            if not self._noted:
                self._noted_ready.clear()
                await self._noted_ready.wait()
                continue
            if not self.holds():  # another gateway may serve the account now: held back until known
                await asyncio.sleep(HOLD_POLL_S)
                continue
            await self._note(self._noted[0])
            if self._noted:  # emptied meanwhile by ``disown``
                self._noted.popleft()

    async def _note(self, value: Order | Fill) -> None:
        """The ledger after ``value`` was published: an order heard open or ended, the newest fill."""
        if self.ledger is None:  # disowned meanwhile: the ledger is the account's next gateway's
            return
        ahead = self._ahead.get(value.client_id) if isinstance(value, Order) else None
        if ahead is not None:
            await ahead  # stored after the order's end was purged, it would name the order open again
        try:
            if isinstance(value, Fill):
                ms = value.ts_ns // 1_000_000 if value.ts_ns else None
                last = self._mark.get(value.symbol)
                if ms is not None and (last is None or ms >= last[0]):
                    ids = last[1] if last is not None and last[0] == ms else []
                    self._mark[value.symbol] = mark = (ms, [*ids[-63:], value.trade_id])
                    await self.ledger.set_mark(value.symbol, *mark)
            elif value.is_open and value.client_id not in self.heard_open:
                await self.ledger.opened(value.client_id, value.symbol)
                self.heard_open.add(value.client_id)
            elif not value.is_open and value.client_id in self.heard_open:
                await self.ledger.ended(value.client_id)
                self.heard_open.discard(value.client_id)
        except Exception as e:  # the events went out; only what a later gateway can tell is less
            log.warning("%s/%s: the ledger was not updated (%s)", self.venue, self.account, e)

    # write-ahead: what a gateway that dies mid-place leaves to the next -----------------------------

    async def placing(self, orders: dict[str, str]) -> list[str]:
        """Orders about to be sent (client id → symbol) named in the ledger as heard open first: a
        gateway that dies once the venue took an order, before anything of it was published, leaves
        it to the next gateway's catch-up — without the entry that gateway neither adopts it (it may
        have ended meanwhile) nor tells it, and its fills never reach the client. The store's answer
        is awaited up to ``WRITE_AHEAD_S``: a store away (a leader election, the link lost) must not
        hold orders up, so they are then sent unwritten, the write still under way, as before this
        existed. Returns the client ids written for here, for :meth:`placed`. An id another request is
        placing meanwhile is refused (``InvalidOrder``), nothing written or sent."""
        busy = next((cid for cid in orders if cid in self._ahead), None)
        if busy is not None:
            # Another request is placing this id now, its entry written ahead for it: this one, run,
            # could overtake it (no write to wait for) and place the order, and that request, refused
            # then as a reused id, would take the entry back from under the order resting at the venue.
            raise invalid_order(f"client id {busy!r} is being placed by another request", rule="client_id")
        if self.ledger is None or self.muted:
            return []
        new = {
            cid: sym for cid, sym in orders.items() if cid not in self.heard_open and cid not in self._ahead
        }
        for cid, sym in new.items():
            self._ahead[cid] = asyncio.ensure_future(self._write_ahead(cid, sym))
        if new:
            await asyncio.wait([self._ahead[cid] for cid in new], timeout=WRITE_AHEAD_S)
        return list(new)

    async def _write_ahead(self, client_id: str, symbol: str) -> None:
        try:
            await self.ledger.opened(client_id, symbol)
            self.heard_open.add(client_id)
        except Exception as e:
            log.warning("%s/%s: %s not written ahead (%s)", self.venue, self.account, client_id, e)

    async def placed(self, client_id: str, at_venue: bool) -> None:
        """A place written ahead (:meth:`placing`) has its answer: ``at_venue`` False (refused, or
        never sent) takes its entry back — left, every later gateway would ask the venue about it."""
        ahead = self._ahead.get(client_id)
        if ahead is None:
            return
        if at_venue:
            # Its events' ledger notes wait for the write (``_note``); the entry is theirs now.
            ahead.add_done_callback(lambda _: self._ahead.pop(client_id, None))
            return
        await ahead
        self._ahead.pop(client_id, None)
        if client_id in self.heard_open and self.ledger is not None:
            self.heard_open.discard(client_id)
            try:
                await self.ledger.ended(client_id)
            except Exception as e:
                log.warning("%s/%s: %s left in the ledger (%s)", self.venue, self.account, client_id, e)

    @property
    def backlog(self) -> int:
        return len(self._queue)

    async def flush(self, timeout: float = 5.0) -> bool:
        """Waits until every queued event is stored, and the ledger kept after them (False if
        ``timeout`` ran out first)."""
        end = time.monotonic() + timeout
        while (self._queue or self._noted) and time.monotonic() < end:
            await asyncio.sleep(0.005)
        return not (self._queue or self._noted)

    def disown(self) -> None:
        """The account is another gateway's now (this one stepped down): its successor read the
        ledger at its start and keeps it since, so nothing more is written in it from here — an
        order noted open now (its events published late, or left to the next gateway) would never be
        taken out, and a later gateway's catch-up would tell its end a second time. What is still
        queued is published at ``close`` (a client drops a state older than one it heard), not noted."""
        self.ledger = None
        self._noted.clear()

    async def close(self, timeout: float = 2.0) -> None:
        await self.flush(timeout)
        for task in (self._task, self._keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._keeper = None
        await self._leave_to_next()

    async def _leave_to_next(self) -> None:
        """What could not be stored before the gateway stops (JetStream away), left to the next
        gateway: each queued event's order goes in the ledger as heard open, so that gateway's
        catch-up tells it as the venue has it, with its fills after the symbol's mark (which never
        moved past an unstored fill); the ledger is kept after what was stored. Best effort: the
        store may be away too."""
        if self.ledger is None or not (self._queue or self._noted):
            return
        if not self.holds():  # another gateway may serve the account, its ledger read: not written
            log.error("%s/%s: %d events not stored at close, the account perhaps another gateway's: "
                      "not left in the ledger", self.venue, self.account, len(self._queue))  # fmt: skip
            return
        for value in list(self._noted):
            await self._note(value)
        self._noted.clear()
        orders = {v.client_id: v.symbol for *_, v in self._queue if v.client_id}
        for cid, symbol in orders.items():
            if cid in self.heard_open:
                continue
            try:
                await self.ledger.opened(cid, symbol)
                self.heard_open.add(cid)
            except Exception as e:
                log.warning("%s/%s: %s left untold (%s)", self.venue, self.account, cid, e)
        log.warning("%s/%s: %d events not stored at close; left to the next gateway's catch-up",
                    self.venue, self.account, len(self._queue))  # fmt: skip

    def health(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "duplicates": self.duplicates,
            "retries": self.retries,
            "backlog": self.backlog,
            "backlog_bytes": self._queued_bytes,
            "refused_backed_up": self.refused,
            "last_seq": self.last_seq,
        }
