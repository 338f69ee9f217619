"""OKX v5 market data, registered for ``tickwire.connect``: ``Adapter`` (``"okx"``) — production host,
``books`` / ``trades`` subscriptions, the text ``ping`` keepalive, control events, the server-time
path and the REST book snapshot (``GET /api/v5/market/books``) a book takes when the stream sends it
none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.clock import ServerTime
from tickwire.errors import RateLimitError, VenueError
from tickwire.session import adapter as session_adapter
from tickwire.venues import register
from tickwire.venues.okx import limits as rate

__all__ = ["Adapter"]

_CHANNEL = {"book": "books", "trades": "trades"}
# The levels each sequenced book channel carries: the REST snapshot's ``sz`` (OKX's most is 400).
_BOOK_DEPTH = {"books": 400, "books-l2-tbt": 400, "books50-l2-tbt": 50}
BOOKS_PATH = "/api/v5/market/books"


class Adapter(session_adapter.Adapter):
    """OKX v5 public channels: ``books`` (snapshot then increments chained by seqId/prevSeqId,
    CRC32 checksums), ``trades``. Keepalive as documented: text ``ping`` when the
    connection has been idle (< 30 s), ``pong`` expected back. A book that loses sync is
    resubscribed: the venue sends a fresh snapshot. OKX announced that its book channels stop
    sending it (production early August 2026): a book whose first message after subscribing is an
    update is synced from ``GET /api/v5/market/books`` by OKX's procedure (the core aligns the
    buffered updates with its ``seqId``), and so are its later gaps."""

    venue = "okx"
    ws_label = "public"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "ws.okx.com:8443",
            "ws": {"public": "wss://ws.okx.com:8443/ws/v5/public"},
            "rest": "https://www.okx.com",
        },
    ]
    # No "bbo": OKX's bbo-tbt is a one-level book under the same instrument name, which would
    # replace the full book in the feed; the book's best bid/ask is the BBO.
    supported = ("book", "trades")
    ping_interval = 20.0
    pong_timeout = 10.0
    connect_limit = (3, 1.0)
    server_time = ServerTime("/api/v5/public/time", lambda j: float(j["data"][0]["ts"]))
    # The per-IP limits a REST book snapshot counts against (``BOOKS``: 40 per 2 s), with every
    # other request of the process to the address.
    rest_limits = rate.LIMITS

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        args = [
            {
                "channel": self.options.get("book_channel", "books")
                if s.channel == "book"
                else _CHANNEL[s.channel],
                "instId": s.symbol,
            }
            for s in subs
        ]
        return [orjson.dumps({"id": str(self.next_id()), "op": op, "args": args})] if args else []

    def ping(self) -> bytes | None:
        return b"ping"

    def snapshot_body(self, body: bytes) -> bytes:
        if not body.startswith(b'{"code":"0"'):
            refused(self.venue, body)
        return body

    def snapshot_target(self, symbol: str) -> tuple[str, dict[str, Any]]:
        channel = self.options.get("book_channel", "books")
        return BOOKS_PATH, {"instId": symbol, "sz": _BOOK_DEPTH.get(channel, 400)}

    def snapshot_cost(self, symbol: str) -> dict[str, int]:
        return {"BOOKS": 1}

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        ev = msg.get("event")
        if ev == "error":
            return streams.Control("error", str(msg.get("msg", "")), str(msg.get("code", "")))
        if ev == "login":
            return streams.Control("auth_ok" if str(msg.get("code")) == "0" else "auth_failed")
        if ev in ("subscribe", "unsubscribe"):
            return streams.Control("ack")
        if ev == "notice":  # see OkxOrders.closing_notice
            return streams.Control("shutdown", str(msg.get("msg", "")), str(msg.get("code", "")))
        return None


def refused(venue: str, body: bytes) -> None:
    """Raises what a REST answer whose ``code`` is not "0" says (OKX answers most errors with HTTP
    200): :class:`RateLimitError` for 50011, else :class:`VenueError`; returns on a "0"."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # not JSON: the core refuses it, naming why
    if not isinstance(data, dict) or str(data.get("code", "0")) == "0":
        return
    code = str(data.get("code"))
    cls = RateLimitError if code in rate.RATE_CODES else VenueError
    err = cls(f"{venue} answered code {code}: {str(data.get('msg', ''))[:200]}")
    err.__dict__.update(status=200, venue=venue, code=code, retry_after=None)
    raise err


register(Adapter)
