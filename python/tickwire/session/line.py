"""One WebSocket connection of a session ("line"): the picows listener on the hot path, and the
loop that keeps it connected (endpoint choice, rate limit, back-off, login, resubscribe)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport

from tickwire.errors import DecodeError, TickwireError, TransportError, ValueRangeError
from tickwire.recovery.backoff import Backoff, ConnectLimiter, SocketBudget, budget_for, limiter_for
from tickwire.session.adapter import Endpoint
from tickwire.transport.ws import open_ws

if TYPE_CHECKING:
    from tickwire.session.market import MarketData

log = logging.getLogger("tickwire.session")

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CLOSE = WSMsgType.CLOSE
_PONG = WSMsgType.PONG
_mono = time.monotonic_ns


class Line(WSListener):
    """A connection. ``on_ws_frame`` is the hot path: stamp, hand the frame view to the session."""

    def __init__(self, md: MarketData, index: int) -> None:
        self.md = md
        self.index = index
        self.transport: WSTransport | None = None
        self.endpoint: int | None = None
        self.connected = False
        self.connected_at = 0.0
        self.last_rx_ns = 0
        self.frames = 0
        self.connects = 0
        self.down = asyncio.Event()
        self._t_read = 0
        adapter = md.adapter
        self._app_ping = adapter.ping()
        self._literal_pong = b"pong" if self._app_ping == b"ping" else None
        self.task: asyncio.Task[None] | None = None
        self.kill_reason = ""
        self._deliver = md._on_payload
        self._fast: Any = None

    # picows callbacks --------------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        now = _mono()
        # Frames parsed from one socket read share its time: that is when their bytes arrived.
        t0 = self._t_read or now
        last = frame.last_in_buffer
        self._t_read = 0 if last else t0
        self.last_rx_ns = now
        self.frames += 1
        mt = frame.msg_type
        if mt is _TEXT or mt is _BINARY:
            lit = self._literal_pong
            if lit is not None and frame.payload_size == 4 and frame.get_payload_as_bytes() == lit:
                transport.notify_user_specific_pong_received()
                self.md._flush_if(last)
                return
            fast = self._fast
            if fast is not None and not self.md._unconfirmed:
                payload = frame.get_payload_as_memoryview()
                try:
                    summary = fast(payload, t0, last)
                except (DecodeError, ValueRangeError) as e:
                    self.md._bad_frame(self, e)
                    return
                if summary is not None:
                    self.md._handle(self, summary, payload, t0, last)
                return
            self._deliver(self, frame.get_payload_as_memoryview(), t0, last)
        elif mt is _CLOSE:
            self.kill_reason = f"venue closed the connection ({frame.get_close_code()})"
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def send_user_specific_ping(self, transport: WSTransport) -> None:
        if self._app_ping is None:
            transport.send_ping()
        else:
            transport.send(_TEXT, self._app_ping)

    def is_user_specific_pong(self, frame: WSFrame) -> bool:
        # App-level pongs are JSON; the session spots them among control frames and notifies
        # picows, so no frame is parsed twice here.
        return self._app_ping is None and frame.msg_type is _PONG

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.connected = False
        self.transport = None
        self.down.set()

    # sending -------------------------------------------------------------------------------------

    def send(self, data: bytes) -> bool:
        t = self.transport
        if t is None or not self.connected:
            return False
        t.send(_TEXT, data)
        return True

    def control(self, payload: memoryview) -> None:
        """A frame the feed did not treat as market data: pongs, shutdown notices, venue errors."""
        md = self.md
        c = md.adapter.control(payload)
        if c is None:
            return
        if c.kind == "pong":
            if self.transport is not None:
                self.transport.notify_user_specific_pong_received()
        elif c.kind == "shutdown":
            md.status("shutdown_notice", line=self.index, detail=c.message)
            self.kill("venue announced shutdown")
        elif c.kind in ("error", "auth_failed"):
            md.status("venue_error", line=self.index, detail=f"{c.code} {c.message}".strip())
            md.audit.event("venue_error", venue=md.venue, line=self.index, code=c.code, message=c.message)

    def kill(self, reason: str) -> None:
        """Drops the connection (stale, shutdown notice, failover); the run loop reconnects."""
        self.kill_reason = reason
        if self.transport is not None:
            self.transport.disconnect(graceful=False)

    # lifecycle ------------------------------------------------------------------------------------

    async def run(self, backoff: Backoff) -> None:
        md = self.md
        while not md.closing:
            ep_index = md.pool.pick(md.endpoints_in_use(exclude=self.index))
            self.endpoint = ep_index  # claimed now, so a sibling line starting alongside picks another
            budget = socket_budget(md)
            if budget is not None:
                await budget.acquire()
            try:
                healthy = await self._once(ep_index)
            finally:
                if budget is not None:
                    budget.release()
            if md.closing:
                return
            if healthy:
                backoff.reset()
            delay = backoff.next_delay()
            if delay is None:
                md.status("disconnected", line=self.index, detail="giving up: max reconnect attempts")
                return
            md.reconnect_delays.append(delay)
            if delay:
                await asyncio.sleep(delay)

    async def _once(self, ep_index: int) -> bool:
        """One connection from connect to drop; True if it lived long enough to count as healthy."""
        md = self.md
        ep = md.pool.endpoints[ep_index]
        try:
            await limiter_wait(md, ep)
            await self._connect(ep_index, ep)
        except Exception as e:
            if not isinstance(e, (TickwireError, OSError)):
                log.exception("%s line %d: unexpected error while connecting", md.venue, self.index)
            md.pool.failure(ep_index)
            md.status("disconnected", line=self.index, detail=f"connect to {ep.name} failed: {e}")
            md.audit.event("connect_failed", venue=md.venue, line=self.index, endpoint=ep.name, error=str(e))
            return False
        up_at = time.monotonic()
        await self.down.wait()
        md._on_line_down(self)
        if not md.closing:
            md.pool.failure(ep_index, soft=True)
        return time.monotonic() - up_at > md.healthy_after

    async def _connect(self, ep_index: int, ep: Endpoint) -> None:
        md = self.md
        subs = md.registry.live()
        url = md.adapter.ws_url(ep, subs)
        self.down.clear()
        self.kill_reason = ""
        t = time.monotonic()
        transport, _ = await open_ws(
            url,
            lambda: self,
            headers=md.adapter.upgrade_headers(url),
            ssl_context=md.ssl_context,
            proxy=md.proxy,
            handshake_timeout=md.connect_timeout,
            ping_idle=md.ping_interval or None,
            pong_timeout=md.pong_timeout,
            ping_periodic=not md.adapter.ping_when_idle,
        )
        if self.down.is_set() or transport.is_disconnected:
            # Cut right after the upgrade (a TLS 1.3 server refusing the client certificate does it
            # after the client's handshake completed): a failed connect, not a connection.
            raise TransportError(f"{ep.name}: connection closed right after the upgrade")
        md.pool.observe_rtt(ep_index, time.monotonic() - t)
        self.transport = transport
        # One Python frame fewer per message when nothing sits between the line and the feed.
        self._deliver = md._apply if md.arbiter is None and md._lock is None else md._on_payload
        self._fast = md._dispatcher.on_frame if md._dispatcher is not None else None
        self.connected = True
        self.connected_at = time.monotonic()
        self.last_rx_ns = _mono()
        self.connects += 1
        md.pool.success(ep_index)
        md.audit.event("connect", venue=md.venue, line=self.index, endpoint=ep.name, url=url.split("?")[0])
        md.status("connected", line=self.index, detail=ep.name)
        await md._on_line_up(self)


# venue limits -------------------------------------------------------------------------------------


def socket_budget(md: MarketData) -> SocketBudget | None:
    n = md.adapter.max_sockets
    return None if n is None else budget_for(md.venue, md.adapter.credential_id(), n)


async def limiter_wait(md: MarketData, ep: Endpoint) -> None:
    lim = md.adapter.options.get("connect_limit", md.adapter.connect_limit)
    if lim is None:
        return
    # Venues count per IP: the host we dial stands for it (several endpoints of one venue on
    # different hosts are different IPs to the venue).
    host = next(iter(ep.ws.values())).split("/")[2]
    limiter: ConnectLimiter = limiter_for(md.venue, host, *lim)
    waited = await limiter.acquire()
    if waited:
        log.warning("%s: waited %.1f s for the venue's connection-rate limit", md.venue, waited)
