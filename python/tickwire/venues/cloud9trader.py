"""Cloud9Trader: HMAC headers on the WebSocket upgrade request (see seed-venues.md)."""

from __future__ import annotations

from typing import Any

from tickwire import _core
from tickwire.auth import Clock, Credentials, now_ms

__all__ = ["Signer"]


class Signer(_core.Cloud9TraderSigner):
    """Builds the ``x-c9t-key`` / ``x-c9t-nonce`` / ``x-c9t-signature`` upgrade headers.

    The signature is lowercase hex HMAC-SHA256, keyed with the base64-decoded secret, over
    ``path + nonce``. Nonces are Unix ms and strictly increase per signer even when two connections open
    in the same millisecond.

    >>> s = Signer("key", "c2VjcmV0")
    >>> s.upgrade_headers("/")   # {'x-c9t-key': 'key', 'x-c9t-nonce': '…', 'x-c9t-signature': '…'}
    """

    _clock: Clock

    def __new__(cls, api_key: str, secret_b64: str, *, clock: Clock | None = None) -> Signer:
        self = super().__new__(cls, api_key, secret_b64)
        self._clock = clock or now_ms
        return self

    @classmethod
    def from_env(cls, prefix: str = "CLOUD9TRADER", **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET`` (base64)."""
        c = Credentials.from_env(prefix)
        return cls(c.api_key, c.require_secret(), **kwargs)

    def upgrade_headers(self, path: str = "/", nonce: int | None = None) -> dict[str, str]:
        """The three headers for the WebSocket upgrade of ``path``. ``nonce`` defaults to the clock,
        bumped to stay above every nonce this signer issued or was given."""
        if nonce is None:
            n = self.next_nonce(self._clock())
        else:
            n = nonce
            self.observe_nonce(n)
        return {"x-c9t-key": self.api_key, "x-c9t-nonce": str(n), "x-c9t-signature": self.signature(path, n)}
