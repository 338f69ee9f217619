"""OKX v5 request signing: ``Signer``, ``Base64(HMAC-SHA256(timestamp + METHOD + requestPath + body))``
for REST requests (the ``OK-ACCESS-*`` headers) and WebSocket logins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickwire import _core, auth
from tickwire.auth import Clock, Credentials, SignedRequest, Source, encode_params, http_method, now_ms

__all__ = ["Signer"]


class Signer(_core.OkxSigner):
    """Signs OKX REST requests and WebSocket logins.

    >>> s = Signer("key", "secret", "passphrase")
    >>> s.rest_signature("2020-12-08T09:08:57.715Z", "GET", "/api/v5/account/balance?ccy=BTC")
    >>> s.sign_request("GET", "/api/v5/account/balance", {"ccy": "BTC"}).headers   # OK-ACCESS-*
    >>> s.ws_auth_message()   # {"op": "login", "args": [{apiKey, passphrase, timestamp, sign}]}
    """

    clock: Clock

    def __new__(cls, api_key: str, secret: str, passphrase: str, *, clock: Clock | None = None) -> Signer:
        auth.key_text(api_key)
        auth.key_text(passphrase, "passphrase")
        self = super().__new__(cls, api_key, secret, passphrase)
        self.clock = clock or now_ms
        return self

    @classmethod
    def from_env(cls, prefix: str = "OKX", *, environ: Source | None = None, **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY``, ``{prefix}_API_SECRET`` and ``{prefix}_PASSPHRASE``."""
        c = Credentials.from_env(prefix, environ=environ)
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
        ts = self.clock() if timestamp is None else timestamp
        return SignedRequest(self.auth_headers(ts, method, request_path, body), q, body)

    def ws_auth_message(self, *, timestamp: int | None = None) -> dict[str, object]:
        """The WebSocket ``login`` op; ``timestamp`` is Unix seconds (default: the clock)."""
        ts = self.clock() // 1000 if timestamp is None else timestamp
        return {"op": "login", "args": [self.ws_login_args(ts)]}
