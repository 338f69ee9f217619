"""Coinbase Advanced Trade request signing (CDP API keys): a fresh ES256 or EdDSA JWT per request and
per WebSocket message, built like the official SDK (header alg/kid/nonce/typ; claims sub, iss="cdp",
nbf, exp=nbf+120, and uri="METHOD hostpath" for REST)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickwire import _core
from tickwire.auth import Clock, Credentials, SignedRequest, Source, encode_params, http_method, now_ms
from tickwire.errors import CredentialsError

__all__ = ["DEFAULT_HOST", "Signer"]

DEFAULT_HOST = "api.coinbase.com"


class Signer(_core.CoinbaseSigner):
    """Signs Coinbase Advanced Trade requests with a CDP key.

    ``private_key_pem`` is an EC P-256 PEM (ES256), an Ed25519 PKCS#8 PEM, or the raw base64 Ed25519
    key (32 or 64 bytes) the CDP portal issues (EdDSA).

    >>> s = Signer("organizations/…/apiKeys/…", pem)
    >>> s.rest_jwt("GET", "api.coinbase.com", "/api/v3/brokerage/accounts")
    >>> s.sign_request("GET", "/api/v3/brokerage/accounts").headers   # {'Authorization': 'Bearer …'}
    >>> s.ws_jwt()   # put in each subscribe message's "jwt"
    """

    clock: Clock
    host: str

    def __new__(
        cls, key_name: str, private_key_pem: str, *, host: str = DEFAULT_HOST, clock: Clock | None = None
    ) -> Signer:
        self = super().__new__(cls, key_name, private_key_pem)
        self.clock = clock or now_ms
        self.host = host
        return self

    @classmethod
    def from_env(cls, prefix: str = "COINBASE", *, environ: Source | None = None, **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` (the key name) and ``{prefix}_PRIVATE_KEY_PEM`` /
        ``{prefix}_PRIVATE_KEY_PATH`` (or ``{prefix}_API_SECRET`` holding the key)."""
        c = Credentials.from_env(prefix, environ=environ)
        key = c.private_key_pem if c.private_key_pem is not None else c.secret
        if key is None:
            p = c.prefix
            raise CredentialsError(
                f"environment variable {p}_PRIVATE_KEY_PEM "
                f"(or {p}_PRIVATE_KEY_PATH, or {p}_API_SECRET) is not set"
            )
        return cls(c.api_key, key, **kwargs)

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
        """``Authorization: Bearer <jwt>``; the JWT's ``uri`` covers the path without the query.
        ``timestamp`` is Unix ms (the JWT's ``nbf`` is its seconds); ``nonce`` the JWT header's (default:
        a fresh one; given only by the order templates' build-time proof)."""
        http_method(method)
        ts = self.clock() if timestamp is None else timestamp
        jwt = self.rest_jwt(method, self.host, path, now=ts // 1000, nonce=nonce)
        return SignedRequest({"Authorization": f"Bearer {jwt}"}, encode_params(params), body)

    def ws_token(self, *, timestamp: int | None = None) -> str:
        """A WebSocket JWT from this signer's clock (generate one per message)."""
        ts = self.clock() if timestamp is None else timestamp
        return self.ws_jwt(now=ts // 1000)
