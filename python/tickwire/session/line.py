"""One WebSocket connection of a session ("line"): the picows listener on the hot path, and the
loop that keeps it connected (endpoint choice, rate limit, back-off, login, resubscribe).

A line sees its session only through :class:`~tickwire.session.ports.LineOwner` and the explicit
parts it is given (adapter, endpoint pool, settings, the frame route)."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from picows import WSFrame, WSListener, WSMsgType, WSTransport

from tickwire.audit import shown_url
from tickwire.errors import (
    BookError,
    DecodeError,
    InternalError,
    TickwireError,
    TransportError,
    ValueRangeError,
)
from tickwire.recovery.backoff import Backoff, SocketBudget, budget_for, connect_slot
from tickwire.recovery.failover import EndpointPool
from tickwire.session.renewal import renew_after
from tickwire.streams import Endpoint
from tickwire.transport.ws import open_ws

if TYPE_CHECKING:
    from tickwire._core import Dispatcher
    from tickwire.capture import CaptureWriter, FrameSink
    from tickwire.session.adapter import Adapter
    from tickwire.session.ports import LineOwner, LineSettings, Summary

log = logging.getLogger("tickwire.session")

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CLOSE = WSMsgType.CLOSE
_PONG = WSMsgType.PONG
_mono = time.monotonic_ns


class Line(WSListener):
    """A connection. ``on_ws_frame`` is the hot path: stamp, hand the frame view to the session's
    one frame route (the Rust ``Dispatcher``), pass what it returns to the owner."""

    def __init__(
        self,
        owner: LineOwner,
        index: int,
        adapter: Adapter,
        pool: EndpointPool,
        settings: LineSettings,
        dispatcher: Dispatcher,
        capture: CaptureWriter | None = None,
    ) -> None:
        self.owner = owner
        self.index = index
        self.adapter = adapter
        self.pool = pool
        self.settings = settings
        self.transport: WSTransport | None = None
        self.endpoint: int | None = None
        self.connected = False
        self.connected_at = 0.0
        self.last_rx_ns = 0
        self.frames = 0
        self.connects = 0
        self.down = asyncio.Event()
        self._t_read = 0
        self._app_ping = adapter.ping()
        self._literal_pong = b"pong" if self._app_ping == b"ping" else None
        self._ping_at = 0  # _mono() of the heartbeat ping still waiting for its pong (0: none)
        self.task: asyncio.Task[None] | None = None
        self.kill_reason = ""
        # Retired: replaced by a successor (``renewal``), its run ends instead of reconnecting.
        self.retired = False
        self._renewal: asyncio.TimerHandle | None = None
        self._dispatcher = dispatcher
        self._route: Callable[[memoryview, int, int], Summary | None] = dispatcher.on_frame
        # Recording (``tickwire record``): every data frame is teed to the capture as received.
        self.capture = capture
        self._tee: FrameSink | None = None
        self._url = ""
        # The venue's cap on what a connection sends (``Adapter.ws_send_limit``): when this connection
        # sent its latest messages, and those waiting for room, sent in order by ``_send_queued``.
        self._sent: collections.deque[float] = collections.deque()
        self._queued: collections.deque[bytes] = collections.deque()
        self._queued_timer: asyncio.TimerHandle | None = None

    # picows callbacks --------------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        cap = self.capture
        if cap is not None:
            # Here, not after open_ws returns: frames may follow the upgrade in the same read.
            cap.open(self._url)
            self._tee = cap.sink(self._url)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = _mono()
        # Frames parsed from one socket read share its time: that is when their bytes arrived.
        t0 = self._t_read or now
        last = frame.last_in_buffer
        if not last and not self._t_read:
            # The read's last frame may never come here (a ping or pong picows answers itself): end
            # the read after its frames were handled, or its books' callbacks and its time would wait
            # for the next read — seconds later, maybe on another connection.
            asyncio.get_running_loop().call_soon(self._end_read)
        self._t_read = 0 if last else t0
        self.last_rx_ns = now
        self.frames += 1
        mt = frame.msg_type
        if mt is _TEXT or mt is _BINARY:
            payload = frame.get_payload_as_memoryview()
            tee = self._tee
            if tee is not None:
                tee(mt is _BINARY, payload, t0)
            lit = self._literal_pong
            if lit is not None and frame.payload_size == 4 and frame.get_payload_as_bytes() == lit:
                self._ping_at = 0
                transport.notify_user_specific_pong_received()
                self._flush(last)
                return
            try:
                summary = self._route(payload, t0, last)
            except (DecodeError, ValueRangeError, BookError) as e:
                # Refused whole, nothing applied (a negative quantity, a value past the book's scale, a
                # full diff buffer): counted, the connection kept; a book it left behind resyncs.
                self.owner.on_bad_frame(self, e)
                self._flush(last)
                return
            except InternalError as e:
                # A bug in the core (please report it): what the frame did to the books is not known.
                self.owner.on_internal_error(self, e)
                return
            if summary is not None:
                self.owner.on_summary(self, summary, payload)
        else:
            if mt is _CLOSE:
                self.kill_reason = f"venue closed the connection ({frame.get_close_code()})"
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            self._flush(last)  # a read ended by no data frame: what its data frames changed is called back

    def _end_read(self) -> None:
        # Only a read whose last frame never came here is ended here: one that came ended it (the route
        # called back what the read changed), and asking the route again would be a second call into
        # the core for the read's frames (``pending``).
        if self._t_read:
            self._t_read = 0
            self._flush(1)

    def _flush(self, last: int) -> None:
        # Books changed earlier in this socket read still owe their callback.
        if last and self._dispatcher.pending:
            self._dispatcher.flush()

    def send_user_specific_ping(self, transport: WSTransport) -> None:
        self._ping_at = _mono()
        if self._app_ping is None:
            transport.send_ping()
        else:
            transport.send(_TEXT, self._app_ping)

    def is_user_specific_pong(self, frame: WSFrame) -> bool:
        # App-level pongs are JSON; the session spots them among control frames and notifies
        # picows, so no frame is parsed twice here.
        if self._app_ping is None and frame.msg_type is _PONG:
            self._ping_at = 0
            return True
        return False

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        cfg, ping = self.settings, self._ping_at
        if ping and cfg.ping_interval:
            reply = min(cfg.pong_timeout, cfg.ping_interval)  # as ``open_ws`` gives it to picows
            # (a tenth off for timer slack: a ping sent just before a drop for another reason is not it)
            if _mono() - ping >= reply * 0.9e9:
                # picows cut it for the ping left unanswered (whatever the venue answered its close
                # with): the endpoint sent nothing, a failure of it as a stale connection is. Else the
                # connection, alive past ``healthy_after``, cleared it and the line went back to it.
                self.kill_reason = f"stale: no pong within {reply:g} s"
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        # The next connection is counted afresh and subscribes the live set anew (a resync asks again).
        self._sent.clear()
        self._queued.clear()
        if self._queued_timer is not None:
            self._queued_timer.cancel()
            self._queued_timer = None
        self.connected = False
        self.transport = None
        self.down.set()

    # sending -------------------------------------------------------------------------------------

    def send(self, data: bytes) -> bool:
        """Sends ``data`` now or, where the venue caps the messages a connection sends
        (``Adapter.ws_send_limit``) and its window is full, as soon as it has room, in order: a burst
        of (un)subscriptions must not get the connection cut (Binance: over 5 a second)."""
        t = self.transport
        if t is None or not self.connected:
            return False
        if self.adapter.ws_send_limit is None:
            self._write(t, data)
        else:
            self._queued.append(data)
            self._send_queued()
        return True

    @property
    def queued(self) -> int:
        """Messages waiting for room under the venue's cap (``send``)."""
        return len(self._queued)

    def _write(self, t: WSTransport, data: bytes) -> None:
        t.send(_TEXT, data)
        if self.capture is not None:
            self.capture.send(self._url, data)

    def _send_queued(self) -> None:
        self._queued_timer = None
        limit = self.adapter.ws_send_limit
        t = self.transport
        if limit is None or t is None or not self.connected:
            return
        # One message of the window left for the heartbeat (pings, pongs count too), and a tenth more
        # time than the venue's window for the jitter between sending here and arriving there.
        count, window = max(1, limit[0] - 1), limit[1] * 1.1
        now = time.monotonic()
        sent = self._sent
        while sent and now - sent[0] >= window:
            sent.popleft()
        while self._queued and len(sent) < count:
            self._write(t, self._queued.popleft())
            sent.append(now)
        if self._queued:
            wait = sent[0] + window - now
            self._queued_timer = asyncio.get_running_loop().call_later(wait, self._send_queued)

    def control(self, payload: memoryview) -> None:
        """A frame the feed did not treat as market data: pongs, shutdown notices, venue errors."""
        owner = self.owner
        c = self.adapter.control(payload)
        if c is None:
            return
        if c.kind == "pong":
            self._ping_at = 0
            if self.transport is not None:
                self.transport.notify_user_specific_pong_received()
        elif c.kind == "shutdown":
            owner.status("shutdown_notice", line=self.index, detail=c.message)
            self.kill("venue announced shutdown")
        elif c.kind == "error":
            owner.on_venue_error(self, c.code, c.message, c.symbols)
        elif c.kind == "auth_failed":
            owner.status("venue_error", line=self.index, detail=f"{c.code} {c.message}".strip())
            owner.record("venue_error", line=self.index, code=c.code, message=c.message)

    def kill(self, reason: str) -> None:
        """Drops the connection (stale, shutdown notice, failover); the run loop reconnects."""
        self.kill_reason = reason
        if self.transport is not None:
            self.transport.disconnect(graceful=False)

    def retire(self, reason: str) -> None:
        """Drops the connection for good: the run loop ends (a line replaced by its successor)."""
        self.retired = True
        if self.transport is not None:
            self.kill(reason)
        elif self.task is not None:  # still connecting: nothing of it is kept
            self.task.cancel()

    # lifecycle ------------------------------------------------------------------------------------

    async def run(self, backoff: Backoff) -> None:
        owner, pool = self.owner, self.pool
        while not owner.closing and not self.retired:
            ep_index = pool.pick(owner.endpoints_in_use(exclude=self.index))
            self.endpoint = ep_index  # claimed now, so a sibling line starting alongside picks another
            budget = socket_budget(self.adapter)
            if budget is not None:
                await budget.acquire()
            try:
                healthy = await self._once(ep_index)
            finally:
                if budget is not None:
                    budget.release()
            if owner.closing or self.retired:
                return
            if healthy:
                backoff.reset()
            delay = backoff.next_delay()
            if delay is None:
                owner.status("disconnected", line=self.index, detail="giving up: max reconnect attempts")
                return
            owner.note_reconnect_delay(delay)
            if delay:
                await asyncio.sleep(delay)

    async def _once(self, ep_index: int) -> bool:
        """One connection from connect to drop; True if it lived long enough to count as healthy."""
        owner, pool = self.owner, self.pool
        ep = pool.endpoints[ep_index]
        try:
            settle = await limiter_wait(self.adapter, ep)
            try:
                await self._connect(ep_index, ep)
            finally:
                # Over however it ended — cancelled too (a close mid-connect): a slot left held
                # counted against the venue's connection rate for good, and once ``limit`` of them
                # were, no session of the process connected to that address again.
                settle()
        except Exception as e:
            if not isinstance(e, (TickwireError, OSError)):
                log.exception("%s line %d: unexpected error while connecting", self.adapter.venue, self.index)
            pool.failure(ep_index)
            owner.status("disconnected", line=self.index, detail=f"connect to {ep.name} failed: {e}")
            owner.record("connect_failed", line=self.index, endpoint=ep.name, error=str(e))
            return False
        up_at = time.monotonic()
        await self.down.wait()
        owner.on_line_down(self)
        # Lived a while: the back-off starts over. Healthy besides — not killed for sending nothing —
        # it also clears the endpoint's failures; a short or silent connection is a failure like a
        # refused connect (an endpoint that accepts and then sends nothing was taken again and again:
        # each connect cleared its count, each drop counted soft).
        lived = time.monotonic() - up_at > self.settings.healthy_after
        healthy = lived and not self.kill_reason.startswith("stale")
        if not owner.closing and not self.retired:
            if healthy:
                pool.success(ep_index)
            pool.failure(ep_index, soft=healthy)
        return lived

    async def _connect(self, ep_index: int, ep: Endpoint) -> None:
        owner, adapter, cfg = self.owner, self.adapter, self.settings
        url = self._url = adapter.ws_url(ep, owner.live_subs())
        self.down.clear()
        self.kill_reason = ""
        self._ping_at = 0
        t = time.monotonic()
        transport, _ = await open_ws(
            url,
            lambda: self,
            headers=adapter.upgrade_headers(url),
            ssl_context=cfg.ssl_context,
            proxy=cfg.proxy,
            handshake_timeout=cfg.connect_timeout,
            ping_idle=cfg.ping_interval or None,
            pong_timeout=cfg.pong_timeout,
            ping_periodic=not adapter.ping_when_idle,
        )
        if owner.closing:
            # Closed while connecting, the cancel lost (3.11's ``wait_for`` returns what completed as
            # its task was cancelled; ``open_ws`` shields its own connect, a guard here for any other):
            # the connection is not kept, the cancel goes on.
            transport.disconnect()
            raise asyncio.CancelledError
        if self.down.is_set() or transport.is_disconnected:
            # Cut right after the upgrade (a TLS 1.3 server refusing the client certificate does it
            # after the client's handshake completed): a failed connect, not a connection.
            raise TransportError(f"{ep.name}: connection closed right after the upgrade")
        self.pool.observe_rtt(ep_index, time.monotonic() - t)
        self.transport = transport
        self.connected = True
        self.connected_at = time.monotonic()
        self.last_rx_ns = _mono()
        self.connects += 1
        # Neither the query (a token, some venues) nor a password in the user part: ``shown_url``.
        owner.record("connect", line=self.index, endpoint=ep.name, url=shown_url(url.split("?")[0]))
        owner.status("connected", line=self.index, detail=ep.name)
        await owner.on_line_up(self)
        life = adapter.connection_lifetime_s
        if life and adapter.redundant_ok and self.connected:
            # Renewed before the venue's cut (``renewal``): where books follow one sequence on every
            # connection, the old and the new connection may overlap.
            at = renew_after(life)
            self._renewal = asyncio.get_running_loop().call_later(at, owner.renew, self)


# venue limits -------------------------------------------------------------------------------------


def socket_budget(adapter: Adapter) -> SocketBudget | None:
    n = adapter.max_sockets
    return None if n is None else budget_for(adapter.venue, adapter.credential_id(), n)


async def limiter_wait(adapter: Adapter, ep: Endpoint) -> Callable[[], None]:
    """Waits for the venue's connection-rate limit; what to call once the attempt is over."""
    host = next(iter(ep.ws.values())).split("/")[2]
    return await connect_slot(
        adapter.venue, host, adapter.options.get("connect_limit", adapter.connect_limit)
    )
