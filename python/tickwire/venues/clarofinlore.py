"""Clarofinlore: request signing and market data (see seed-venues.md).

``Adapter`` (``"clarofinlore"``, registered for ``tickwire.connect``): production host, bearer-token
upgrade headers, ``orderbook.<s>`` / ``trades.<s>`` channels, compressed control frames.

``Signer`` (also for the ``POST /v1/auth/token`` request): by default lowercase hex HMAC-SHA256 over
``METHOD + path + query + body`` (query without its ``?``, no separator). The composition is a
profile setting: pass ``parts=`` (any order of ``method``, ``path``, ``query``, ``body``,
``timestamp``, ``nonce``) and ``separator=``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from tickwire import _core, streams
from tickwire.auth import Clock, Credentials, SignedRequest, encode_params, http_method, now_ms
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["DEFAULT_PARTS", "Adapter", "Signer"]

DEFAULT_PARTS = ("method", "path", "query", "body")


class Signer(_core.ClarofinloreSigner):
    """Signs Clarofinlore requests (also the ``POST /v1/auth/token`` request).

    >>> s = Signer("key", "secret")
    >>> s.signature("POST", "/v1/orders", "", '{"symbol":"BTC-USDT"}')
    >>> s.sign_request("GET", "/v1/account").headers   # X-API-Key, X-Timestamp, X-Nonce, X-Signature
    >>> parts = ("timestamp", "nonce", "method", "path", "query", "body")
    >>> Signer("key", "secret", parts=parts, separator="\\n")
    """

    _clock: Clock

    def __new__(
        cls,
        api_key: str,
        secret: str,
        *,
        parts: Sequence[str] | None = None,
        separator: str = "",
        clock: Clock | None = None,
    ) -> Signer:
        self = super().__new__(
            cls, api_key, secret, parts=None if parts is None else list(parts), separator=separator
        )
        self._clock = clock or now_ms
        return self

    @classmethod
    def from_env(cls, prefix: str = "CLAROFINLORE", **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET``."""
        c = Credentials.from_env(prefix)
        return cls(c.api_key, c.require_secret(), **kwargs)

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
    ) -> SignedRequest:
        """``X-API-Key``, ``X-Timestamp`` (Unix ms), ``X-Nonce`` (random 32 hex chars unless given) and
        ``X-Signature``."""
        http_method(method)
        q = encode_params(params)
        ts = str(self._clock() if timestamp is None else timestamp)
        n = secrets.token_hex(16) if nonce is None else nonce
        sig = self.signature(method, path, q, body, timestamp=ts, nonce=n)
        headers = {"X-API-Key": self.api_key, "X-Timestamp": ts, "X-Nonce": n, "X-Signature": sig}
        return SignedRequest(headers, q, body)


# Market data ---------------------------------------------------------------------------------------


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
