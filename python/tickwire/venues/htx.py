"""HTX (Huobi): request signing and market data.

``Signer``: REST signature version 2 (signed query string), WebSocket v2 version 2.1 auth.
``Adapter`` (``"htx"``, registered for ``tickwire.connect``): production hosts, ``mbp`` topics and
``req`` snapshot requests on the ``/feed`` socket, gzip control frames, ``{"pong": n}`` answers, the
server-time path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson

from tickwire import _core, streams
from tickwire.auth import Clock, Credentials, SignedRequest, http_method, now_ms
from tickwire.clock import ServerTime
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["DEFAULT_HOST", "Adapter", "Signer"]

DEFAULT_HOST = "api.huobi.pro"


class Signer(_core.HtxSigner):
    """Signs HTX REST requests (the auth goes in the query string) and WebSocket v2 auth.

    >>> s = Signer("access-key", "secret")
    >>> s.rest_signature("GET", "api.huobi.pro", "/v1/order/orders", {"order-id": "1"}, "2017-05-11T15:19:30")
    >>> s.sign_request("GET", "/v1/account/accounts").query   # AccessKeyId=…&Timestamp=…&Signature=…
    >>> s.ws_auth_message()   # {"action": "req", "ch": "auth", "params": {...}}
    """

    _clock: Clock
    host: str

    def __new__(
        cls, access_key: str, secret: str, *, host: str = DEFAULT_HOST, clock: Clock | None = None
    ) -> Signer:
        self = super().__new__(cls, access_key, secret)
        self._clock = clock or now_ms
        self.host = host
        return self

    @classmethod
    def from_env(cls, prefix: str = "HTX", **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` (the access key) and ``{prefix}_API_SECRET``."""
        c = Credentials.from_env(prefix)
        return cls(c.api_key, c.require_secret(), **kwargs)

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """The full signed query: for GET pass the business parameters as ``params``; for POST leave
        them in the JSON ``body`` (not signed, as HTX specifies). ``timestamp`` is Unix ms."""
        http_method(method)
        ts = self._clock() if timestamp is None else timestamp
        q = self.signed_query(method, self.host, path, params or {}, ts)
        headers = {"Content-Type": "application/json"} if body else {}
        return SignedRequest(headers, q, body)

    def ws_auth_message(self, *, path: str = "/ws/v2", timestamp: int | None = None) -> dict[str, object]:
        """The WebSocket v2 ``auth`` request (signature version 2.1)."""
        ts = self._clock() if timestamp is None else timestamp
        iso = datetime.fromtimestamp(ts // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return {
            "action": "req",
            "ch": "auth",
            "params": {
                "authType": "api",
                "accessKey": self.access_key,
                "signatureMethod": "HmacSHA256",
                "signatureVersion": "2.1",
                "timestamp": iso,
                "signature": self.ws_v21_signature(self.host, path, iso),
            },
        }


# Market data ---------------------------------------------------------------------------------------


class Adapter(session_adapter.Adapter):
    """HTX market data on ``/feed``: ``market.<s>.mbp.<levels>`` increments (seqNum/prevSeqNum),
    aligned with a ``req`` refresh on the same connection — also how a book that lost sync is
    rebuilt. Frames are gzip; the venue pings ``{"ping": n}`` every 5 s and the session answers
    ``{"pong": n}`` (two unanswered pings and the venue cuts). Symbols are lower case (``btcusdt``)."""

    venue = "htx"
    ws_label = "feed"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "api.huobi.pro",
            "ws": {"feed": "wss://api.huobi.pro/feed"},
            "rest": "https://api.huobi.pro",
        },
        {
            "name": "api-aws.huobi.pro",
            "ws": {"feed": "wss://api-aws.huobi.pro/feed"},
            "rest": "https://api-aws.huobi.pro",
        },
    ]
    ping_interval = 15.0
    compressed = True
    server_time = ServerTime("/v1/common/timestamp", lambda j: float(j["data"]))

    def topic(self, symbol: str) -> str:
        return f"market.{symbol.lower()}.mbp.{self.options.get('levels', 20)}"

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        key = "sub" if op == "subscribe" else "unsub"
        out = []
        for s in subs:
            out.append(orjson.dumps({key: self.topic(s.symbol), "id": str(self.next_id())}))
            if op == "subscribe":
                # The increments are aligned with a REQ refresh on the same connection.
                out.append(self.snapshot_request(s.symbol))
        return out

    def snapshot_request(self, symbol: str) -> bytes:
        return orjson.dumps({"req": self.topic(symbol), "id": str(self.next_id())})

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        if msg.get("status") == "error":
            return streams.Control("error", str(msg.get("err-msg", "")), str(msg.get("err-code", "")))
        if msg.get("status") == "ok":
            return streams.Control("ack")
        return None


register(Adapter)
