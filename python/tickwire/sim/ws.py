"""WebSocket side of an endpoint: one picows listener per client connection.

picows was chosen by measurement (benches/bench_sim.py): its send path is a C call per frame with no
coroutine per message, which is what lets one Python process push the stream rates a benchmark needs.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

if TYPE_CHECKING:
    from tickwire.sim.server import VenueServer

_ids = itertools.count(1)


class Conn(WSListener):
    """A client connection as the venue sees it: path, headers, subscriptions and venue state."""

    def __init__(self, endpoint: VenueServer, path: str, query: str, headers: dict[str, str]) -> None:
        super().__init__()
        self.id = next(_ids)
        self.endpoint = endpoint
        self.path = path
        self.raw_query = query
        self.query = dict(parse_qsl(query, keep_blank_values=True))
        self.headers = headers
        self.transport: WSTransport | None = None
        self.topics: set[str] = set()
        # Binance combined streams wrap each payload as {"stream":..,"data":..}.
        self.combined = False
        self.state: dict[str, Any] = {}
        now = time.monotonic()
        self.opened_at = now
        self.last_rx = now
        self.last_tx = now
        self.ping_payload: bytes | None = None
        self.ping_sent_at = 0.0
        self.next_ping_at = 0.0
        self.sent = 0
        self.out = bytearray()
        self.loop = asyncio.get_running_loop()

    # picows callbacks -------------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.endpoint.conn_opened(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.endpoint.conn_closed(self)
        self.transport = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self.last_rx = time.monotonic()
        t = frame.msg_type
        if t is WSMsgType.TEXT or t is WSMsgType.BINARY:
            self.endpoint.on_ws_message(self, frame.get_payload_as_bytes(), t is WSMsgType.BINARY)
        elif t is WSMsgType.PONG:
            self.endpoint.venue.on_pong(self, frame.get_payload_as_bytes())
        elif t is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    # sending ----------------------------------------------------------------------------------

    def send_text(self, data: bytes) -> None:
        self._queue(0x81, data)

    def send_binary(self, data: bytes) -> None:
        self._queue(0x82, data)

    def _queue(self, opcode: int, data: bytes) -> None:
        # Frames are coalesced and written once per loop iteration: a write syscall per message would
        # cost more than building the message. Server frames are unmasked, so framing is a header.
        if self.transport is None or (self.endpoint.stalled and not self.endpoint.stall_holds):
            return
        out = self.out
        if not out and not self.endpoint.stalled:
            self.loop.call_soon(self.flush)
        n = len(data)
        if n < 126:
            out += bytes((opcode, n))
        elif n < 65536:
            out += bytes((opcode, 126)) + n.to_bytes(2, "big")
        else:
            out += bytes((opcode, 127)) + n.to_bytes(8, "big")
        out += data
        self.sent += 1

    def flush(self) -> None:
        if self.endpoint.stalled and self.endpoint.stall_holds:
            return  # held until the stall ends (``VenueServer.unstall`` flushes every connection)
        if self.out and self.transport is not None:
            self.transport.underlying_transport.write(bytes(self.out))
            self.last_tx = time.monotonic()
        self.out.clear()

    def send_ping(self, payload: bytes) -> None:
        if self.transport is not None and not self.endpoint.stalled:
            self.flush()
            self.transport.send_ping(payload)
            self.ping_payload = payload
            self.ping_sent_at = time.monotonic()

    def close(self, code: WSCloseCode = WSCloseCode.GOING_AWAY, reason: bytes = b"") -> None:
        if self.transport is not None:
            faults = getattr(getattr(self.endpoint, "venue", None), "private_faults", None)
            if faults is not None:
                faults.release(self)  # a private message held to reorder goes before the close
            self.flush()
            self.transport.send_close(code, reason)
            self.transport.disconnect()

    def abort(self) -> None:
        """Cut the TCP connection without a close frame (what a crashed venue process looks like)."""
        if self.transport is not None:
            self.transport.disconnect(graceful=False)

    @property
    def buffered(self) -> int:
        if self.transport is None:
            return 0
        return int(self.transport.underlying_transport.get_write_buffer_size())
