"""HTX (Huobi) request signing: REST signature version 2 (signed query string), WebSocket v2
version 2.1 auth. Both sign the host the request goes to (``host``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tickwire import _core
from tickwire.auth import Clock, Credentials, SignedRequest, Source, http_method, key_text, now_ms

__all__ = ["DEFAULT_HOST", "Signer"]

DEFAULT_HOST = "api.huobi.pro"


class Signer(_core.HtxSigner):
    """Signs HTX REST requests (the auth goes in the query string) and WebSocket v2 auth.

    >>> s = Signer("access-key", "secret")
    >>> s.rest_signature("GET", "api.huobi.pro", "/v1/order/orders", {"order-id": "1"}, "2017-05-11T15:19:30")
    >>> s.sign_request("GET", "/v1/account/accounts").query   # AccessKeyId=…&Timestamp=…&Signature=…
    >>> s.ws_auth_message()   # {"action": "req", "ch": "auth", "params": {...}}
    """

    clock: Clock
    host: str

    def __new__(
        cls, access_key: str, secret: str, *, host: str = DEFAULT_HOST, clock: Clock | None = None
    ) -> Signer:
        key_text(access_key)
        self = super().__new__(cls, access_key, secret)
        self.clock = clock or now_ms
        self.host = host
        return self

    @classmethod
    def from_env(cls, prefix: str = "HTX", *, environ: Source | None = None, **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` (the access key) and ``{prefix}_API_SECRET``."""
        c = Credentials.from_env(prefix, environ=environ)
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
        if params is not None and not isinstance(params, Mapping):
            # HTX signs its parameters sorted by name: an encoded string has no order to sort by.
            raise TypeError(
                f"HTX signs its parameters sorted: params must be a mapping, not {type(params).__name__}"
            )
        ts = self.clock() if timestamp is None else timestamp
        q = self.signed_query(method, self.host, path, params or {}, ts)
        headers = {"Content-Type": "application/json"} if body else {}
        return SignedRequest(headers, q, body)

    def ws_auth_message(
        self, *, path: str = "/ws/v2", timestamp: int | None = None, host: str | None = None
    ) -> dict[str, object]:
        """The WebSocket v2 ``auth`` request (signature version 2.1), signed for ``host`` (default: the
        REST ``host``; the socket's own host where it differs)."""
        ts = self.clock() if timestamp is None else timestamp
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
                "signature": self.ws_v21_signature(host or self.host, path, iso),
            },
        }
