"""Clarofinlore request signing (seed-venues.md).

``Signer`` (also for the ``POST /v1/auth/token`` request): by default lowercase hex HMAC-SHA256 over
``METHOD + path + query + body`` (query without its ``?``, no separator). The composition is a
profile setting: pass ``parts=`` (any order of ``method``, ``path``, ``query``, ``body``,
``timestamp``, ``nonce``) and ``separator=``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from tickwire import _core, auth
from tickwire.auth import Clock, Credentials, SignedRequest, Source, encode_params, http_method, now_ms

__all__ = ["DEFAULT_PARTS", "Signer"]

DEFAULT_PARTS = ("method", "path", "query", "body")


class Signer(_core.ClarofinloreSigner):
    """Signs Clarofinlore requests (also the ``POST /v1/auth/token`` request).

    >>> s = Signer("key", "secret")
    >>> s.signature("POST", "/v1/orders", "", '{"symbol":"BTC-USDT"}')
    >>> s.sign_request("GET", "/v1/account").headers   # X-API-Key, X-Timestamp, X-Nonce, X-Signature
    >>> parts = ("timestamp", "nonce", "method", "path", "query", "body")
    >>> Signer("key", "secret", parts=parts, separator="\\n")
    """

    clock: Clock

    def __new__(
        cls,
        api_key: str,
        secret: str,
        *,
        parts: Sequence[str] | None = None,
        separator: str = "",
        clock: Clock | None = None,
    ) -> Signer:
        auth.key_text(api_key)
        self = super().__new__(
            cls, api_key, secret, parts=None if parts is None else list(parts), separator=separator
        )
        self.clock = clock or now_ms
        return self

    @classmethod
    def from_env(
        cls, prefix: str = "CLAROFINLORE", *, environ: Source | None = None, **kwargs: Any
    ) -> Signer:
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
        nonce: str | None = None,
    ) -> SignedRequest:
        """``X-API-Key``, ``X-Timestamp`` (Unix ms), ``X-Nonce`` (random 32 hex chars unless given) and
        ``X-Signature``."""
        http_method(method)
        q = encode_params(params)
        ts = str(self.clock() if timestamp is None else timestamp)
        n = secrets.token_hex(16) if nonce is None else nonce
        sig = self.signature(method, path, q, body, timestamp=ts, nonce=n)
        headers = {"X-API-Key": self.api_key, "X-Timestamp": ts, "X-Nonce": n, "X-Signature": sig}
        return SignedRequest(headers, q, body)
