"""Bybit v5 request signing: ``Signer`` for REST (``X-BAPI-*`` headers), the WebSocket ``auth`` op and
the trade socket's per-request ``header``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickwire import _core, auth
from tickwire.auth import Clock, Credentials, SignedRequest, Source, encode_params, http_method, now_ms

DEFAULT_RECV_WINDOW = 5000
# Bybit states no maximum. A window past a day is a unit slip or a typo, and would undo the replay
# protection the window exists for ("a smaller X-BAPI-RECV-WINDOW is more secure").
MAX_RECV_WINDOW = 86_400_000


class Signer(_core.BybitSigner):
    """Signs Bybit REST requests and WebSocket auth.

    >>> s = Signer("key", "secret")
    >>> s.rest_signature(1658384314791, 5000, "category=option&symbol=BTC-29JUL22-25000-C")
    >>> s.sign_request("GET", "/v5/order/realtime", {"category": "linear"}).headers   # X-BAPI-*
    >>> s.ws_auth_message()   # {"op": "auth", "args": [key, expires, signature]}
    """

    clock: Clock
    _recv_window: int

    def __new__(
        cls, api_key: str, secret: str, *, recv_window: int = DEFAULT_RECV_WINDOW, clock: Clock | None = None
    ) -> Signer:
        auth.key_text(api_key)
        self = super().__new__(cls, api_key, secret)
        self.clock = clock or now_ms
        self.recv_window = recv_window
        return self

    @property
    def recv_window(self) -> int:
        """``X-BAPI-RECV-WINDOW`` in ms; setting it checks it like the constructor does."""
        return self._recv_window

    @recv_window.setter
    def recv_window(self, ms: int) -> None:
        self._recv_window = auth.recv_window_ms(ms, MAX_RECV_WINDOW, "Bybit")

    @classmethod
    def from_env(cls, prefix: str = "BYBIT", *, environ: Source | None = None, **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET``."""
        c = Credentials.from_env(prefix, environ=environ)
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
        http_method(method)
        q = encode_params(params)
        ts = self.clock() if timestamp is None else timestamp
        payload = q if method.upper() == "GET" else body
        headers = {
            "X-BAPI-API-KEY": self.api_key,
            "X-BAPI-TIMESTAMP": str(ts),
            "X-BAPI-SIGN": self.rest_signature(ts, self.recv_window, payload),
            "X-BAPI-RECV-WINDOW": str(self.recv_window),
        }
        return SignedRequest(headers, q, body)

    def ws_header(self, *, timestamp: int | None = None) -> dict[str, str]:
        """The trade socket's per-request ``header``: ``X-BAPI-TIMESTAMP`` (the clock, ms) and
        ``X-BAPI-RECV-WINDOW``; the venue refuses a request outside the window as it does over REST
        (the connection's ``auth`` is the proof of the key, nothing more is signed)."""
        ts = self.clock() if timestamp is None else timestamp
        return {"X-BAPI-TIMESTAMP": str(ts), "X-BAPI-RECV-WINDOW": str(self.recv_window)}

    def ws_auth_message(self, *, expires: int | None = None, ttl_ms: int = 10_000) -> dict[str, object]:
        """The WebSocket ``auth`` op; ``expires`` is Unix ms (default: clock + ``ttl_ms``)."""
        e = self.clock() + ttl_ms if expires is None else expires
        return {"op": "auth", "args": [self.api_key, e, self.ws_auth_signature(e)]}
