"""Clarofinlore market data: the ``Adapter`` registered for ``tickwire.connect`` (seed-venues.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["Adapter"]


class Adapter(session_adapter.Adapter):
    """Clarofinlore streams (``wss://api.clarofinlore-ai.com/v1/stream``): ``orderbook.<s>`` and
    ``trades.<s>``, compressed per the venue profile (zlib by default; the feed inflates in Rust),
    ``seq``/``prev_seq`` chained, a gap resubscribes for a snapshot. Server pings are RFC 6455 frames
    (answered by picows). Options: ``token`` (or ``token_provider``, a callable returning a fresh
    access token) sent as ``Authorization: Bearer`` on the upgrade; mutual TLS through the session's
    ``ssl_context`` (``tickwire.transport.ws.tls_context(client_cert=..., tls13_only=True)``)."""

    venue = "clarofinlore"
    ws_label = "stream"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "api.clarofinlore-ai.com",
            "ws": {"stream": "wss://api.clarofinlore-ai.com/v1/stream"},
            "rest": "https://api.clarofinlore-ai.com",
        },
    ]
    supported = ("book", "trades")
    ping_interval = 20.0
    max_sockets = 10  # "up to 10 concurrent WebSocket connections per key"
    compressed = True  # zlib, raw deflate or gzip per the venue profile

    def upgrade_headers(self, url: str) -> dict[str, str] | None:
        provider = self.options.get("token_provider")
        token = provider() if provider is not None else self.options.get("token")
        return {"Authorization": f"Bearer {token}"} if token else None

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        chans = [("orderbook." if s.channel == "book" else "trades.") + s.symbol for s in subs]
        return [orjson.dumps({"op": op, "channels": chans})] if chans else []

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        return streams.typed_control(msg)


register(Adapter)
