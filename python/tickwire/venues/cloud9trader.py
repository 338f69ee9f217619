"""Cloud9Trader (see seed-venues.md): ``Signer`` builds the HMAC headers of the WebSocket upgrade
request; ``Adapter`` (``"cloud9trader"``, registered for ``tickwire.connect``) holds the production
socket URL, signs every upgrade, and subscribes ``book.<SYMBOL>`` / ``trades.<SYMBOL>`` channels.

No order entry: the venue's document (../shared/seeds/002_*.txt, its "WebSocket API >
Authentication" page) says how to open the authenticated socket that "private channels" need, and
nothing more — no private channel's name, no message to place, cancel or query an order, no order or
error shape, and no REST API. ``tickwire.trade("cloud9trader")`` therefore raises ``NotSupported``
naming what is missing (``ORDER_ENTRY_MISSING``) instead of inventing a protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import _core, streams
from tickwire.auth import Clock, Credentials, Source, key_text, now_ms
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["ORDER_ENTRY_MISSING", "Adapter", "Signer"]

# What ``tickwire.trade("cloud9trader")`` says (NotSupported).
ORDER_ENTRY_MISSING = (
    "order entry is not documented: the venue's WebSocket API document describes only how to "
    "authenticate the socket (x-c9t-key, x-c9t-nonce, x-c9t-signature on the upgrade) that private "
    "channels need; it names no private channel and gives no order request (place, cancel, status), "
    "no order or error format and no REST API. tickwire's Cloud9Trader adapter covers the "
    "authenticated socket and market data (tickwire.connect) only"
)


class Signer(_core.Cloud9TraderSigner):
    """Builds the ``x-c9t-key`` / ``x-c9t-nonce`` / ``x-c9t-signature`` upgrade headers.

    The signature is lowercase hex HMAC-SHA256, keyed with the base64-decoded secret, over
    ``path + nonce``. Nonces are Unix ms and strictly increase per signer even when two connections open
    in the same millisecond.

    >>> s = Signer("key", "c2VjcmV0")
    >>> s.upgrade_headers("/")   # {'x-c9t-key': 'key', 'x-c9t-nonce': '…', 'x-c9t-signature': '…'}
    """

    clock: Clock

    def __new__(cls, api_key: str, secret_b64: str, *, clock: Clock | None = None) -> Signer:
        key_text(api_key)
        self = super().__new__(cls, api_key, secret_b64)
        self.clock = clock or now_ms
        return self

    @classmethod
    def from_env(
        cls, prefix: str = "CLOUD9TRADER", *, environ: Source | None = None, **kwargs: Any
    ) -> Signer:
        """From ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET`` (base64)."""
        c = Credentials.from_env(prefix, environ=environ)
        return cls(c.api_key, c.require_secret(), **kwargs)

    def upgrade_headers(self, path: str = "/", nonce: int | None = None) -> dict[str, str]:
        """The three headers for the WebSocket upgrade of ``path``. ``nonce`` defaults to the clock,
        bumped to stay above every nonce this signer issued or was given."""
        if nonce is None:
            n = self.next_nonce(self.clock())
        else:
            n = nonce
            self.observe_nonce(n)
        return {"x-c9t-key": self.api_key, "x-c9t-nonce": str(n), "x-c9t-signature": self.signature(path, n)}


# Market data ---------------------------------------------------------------------------------------


class Adapter(session_adapter.Adapter):
    """Cloud9Trader's authenticated socket: the signed ``x-c9t-*`` headers go on every upgrade (a
    fresh, strictly increasing nonce each reconnect), then ``book.<SYMBOL>`` / ``trades.<SYMBOL>``
    channels. Needs ``signer=cloud9trader.Signer(...)`` in the options (or the environment)."""

    venue = "cloud9trader"
    ws_label = "socket"
    production: ClassVar[list[dict[str, Any]]] = [
        {"name": "sockets.cloud9trader.com", "ws": {"socket": "wss://sockets.cloud9trader.com/"}},
    ]
    supported = ("book", "trades")
    ping_interval = 20.0

    def upgrade_headers(self, url: str) -> dict[str, str] | None:
        signer = self.options.get("signer")
        if signer is None:
            signer = self.options["signer"] = Signer.from_env()
        path = "/" + url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0]
        headers: dict[str, str] = signer.upgrade_headers(path)
        return headers

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        chans = [("book." if s.channel == "book" else "trades.") + s.symbol for s in subs]
        return [orjson.dumps({"op": op, "channels": chans})] if chans else []

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        return streams.typed_control(msg)


register(Adapter)
