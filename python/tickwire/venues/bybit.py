"""Bybit v5 request signing: hex HMAC-SHA256 of ``timestamp + api_key + recv_window + payload``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickwire import _core
from tickwire.auth import Clock, Credentials, SignedRequest, encode_params, now_ms

__all__ = ["DEFAULT_RECV_WINDOW", "Signer"]

DEFAULT_RECV_WINDOW = 5000


class Signer(_core.BybitSigner):
    """Signs Bybit REST requests and WebSocket auth.

    >>> s = Signer("key", "secret")
    >>> s.rest_signature(1658384314791, 5000, "category=option&symbol=BTC-29JUL22-25000-C")
    >>> s.sign_request("GET", "/v5/order/realtime", {"category": "linear"}).headers   # X-BAPI-*
    >>> s.ws_auth_message()   # {"op": "auth", "args": [key, expires, signature]}
    """

    _clock: Clock
    recv_window: int

    def __new__(
        cls, api_key: str, secret: str, *, recv_window: int = DEFAULT_RECV_WINDOW, clock: Clock | None = None
    ) -> Signer:
        self = super().__new__(cls, api_key, secret)
        self._clock = clock or now_ms
        self.recv_window = recv_window
        return self

    @classmethod
    def from_env(cls, prefix: str = "BYBIT", **kwargs: Any) -> Signer:
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
    ) -> SignedRequest:
        """``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-SIGN``, ``X-BAPI-RECV-WINDOW``. GET signs
        the query string, other methods the body."""
        q = encode_params(params)
        ts = self._clock() if timestamp is None else timestamp
        payload = q if method.upper() == "GET" else body
        headers = {
            "X-BAPI-API-KEY": self.api_key,
            "X-BAPI-TIMESTAMP": str(ts),
            "X-BAPI-SIGN": self.rest_signature(ts, self.recv_window, payload),
            "X-BAPI-RECV-WINDOW": str(self.recv_window),
        }
        return SignedRequest(headers, q, body)

    def ws_auth_message(self, *, expires: int | None = None, ttl_ms: int = 10_000) -> dict[str, object]:
        """The WebSocket ``auth`` op; ``expires`` is Unix ms (default: clock + ``ttl_ms``)."""
        e = self._clock() + ttl_ms if expires is None else expires
        return {"op": "auth", "args": [self.api_key, e, self.ws_auth_signature(e)]}
