"""OKX v5 market data, registered for ``tickwire.connect``: ``Adapter`` (``"okx"``) — production host,
``books`` / ``trades`` subscriptions, the text ``ping`` keepalive, control events and the server-time
path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.clock import ServerTime
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["Adapter"]

_CHANNEL = {"book": "books", "trades": "trades"}


class Adapter(session_adapter.Adapter):
    """OKX v5 public channels: ``books`` (snapshot then increments chained by seqId/prevSeqId,
    CRC32 checksums), ``trades``. Keepalive as documented: text ``ping`` when the
    connection has been idle (< 30 s), ``pong`` expected back. A book that loses sync is
    resubscribed: the venue sends a fresh snapshot."""

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


register(Adapter)
