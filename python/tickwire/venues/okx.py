"""OKX v5: request signing and market data.

``Signer``: ``Base64(HMAC-SHA256(timestamp + METHOD + requestPath + body))`` for REST and WebSocket
logins. ``Adapter`` (``"okx"``, registered for ``tickwire.connect``): production host, ``books`` /
``trades`` subscriptions, the text ``ping`` keepalive, control events and the server-time path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from tickwire import _core, streams
from tickwire.auth import Clock, Credentials, SignedRequest, encode_params, http_method, now_ms
from tickwire.clock import ServerTime
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["Adapter", "Signer"]


class Signer(_core.OkxSigner):
    """Signs OKX REST requests and WebSocket logins.

    >>> s = Signer("key", "secret", "passphrase")
    >>> s.rest_signature("2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance?ccy=BTC")
    >>> s.sign_request("GET", "/api/v5/account/balance", {"ccy": "BTC"}).headers   # OK-ACCESS-*
    >>> s.ws_auth_message()   # {"op": "login", "args": [{apiKey, passphrase, timestamp, sign}]}
    """

    _clock: Clock

    def __new__(cls, api_key: str, secret: str, passphrase: str, *, clock: Clock | None = None) -> Signer:
        self = super().__new__(cls, api_key, secret, passphrase)
        self._clock = clock or now_ms
        return self

    @classmethod
    def from_env(cls, prefix: str = "OKX", **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY``, ``{prefix}_API_SECRET`` and ``{prefix}_PASSPHRASE``."""
        c = Credentials.from_env(prefix)
        return cls(c.api_key, c.require_secret(), c.require_passphrase(), **kwargs)

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """The four ``OK-ACCESS-*`` headers; the query is part of the signed request path.
        ``timestamp`` is Unix ms (sent as ISO 8601 with ms)."""
        http_method(method)
        q = encode_params(params)
        request_path = f"{path}?{q}" if q else path
        ts = self._clock() if timestamp is None else timestamp
        return SignedRequest(self.auth_headers(ts, method, request_path, body), q, body)

    def ws_auth_message(self, *, timestamp: int | None = None) -> dict[str, object]:
        """The WebSocket ``login`` op; ``timestamp`` is Unix seconds (default: the clock)."""
        ts = self._clock() // 1000 if timestamp is None else timestamp
        return {"op": "login", "args": [self.ws_login_args(ts)]}


# Market data ---------------------------------------------------------------------------------------

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
        return None


register(Adapter)
