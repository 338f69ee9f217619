"""Kraken spot: request signing and market data.

``Signer``: ``API-Sign = base64(HMAC-SHA512(base64decode(secret), uri_path + SHA256(nonce + postdata)))``
for private REST calls, with nonces that always increase. ``Adapter`` (``"kraken"``, registered for
``tickwire.connect``): the v2 production URL, ``book`` / ``trade`` subscriptions at the subscribed
depth, instrument precisions from REST ``AssetPairs`` for the checksums, the ``ping`` keepalive, the
server-time path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from tickwire import _core, streams
from tickwire.auth import Clock, Credentials, SignedRequest, encode_params, http_method, now_ms
from tickwire.clock import ServerTime
from tickwire.errors import TickwireError
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

if TYPE_CHECKING:
    from tickwire.session.market import MarketData

log = logging.getLogger("tickwire.kraken")

__all__ = ["Adapter", "Signer"]


class Signer(_core.KrakenSigner):
    """Signs Kraken private REST calls (``POST /0/private/...``).

    >>> s = Signer("key", "base64-secret==")
    >>> s.rest_signature("/0/private/Balance", 1616492376594, "nonce=1616492376594")
    >>> req = s.sign_request("POST", "/0/private/AddOrder", {"pair": "XBTUSD", "type": "buy"})
    >>> req.headers, req.body   # {'API-Key', 'API-Sign'}, 'nonce=…&pair=XBTUSD&type=buy'
    """

    _clock: Clock
    _lock: threading.Lock
    _last_nonce: int

    def __new__(cls, api_key: str, secret_b64: str, *, clock: Clock | None = None) -> Signer:
        self = super().__new__(cls, api_key, secret_b64)
        self._clock = clock or now_ms
        self._lock = threading.Lock()
        self._last_nonce = 0
        return self

    @classmethod
    def from_env(cls, prefix: str = "KRAKEN", **kwargs: Any) -> Signer:
        """From ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET`` (base64, as Kraken issues it)."""
        c = Credentials.from_env(prefix)
        return cls(c.api_key, c.require_secret(), **kwargs)

    def next_nonce(self) -> int:
        """The clock in ms, bumped so that it always increases (Kraken rejects a repeated nonce)."""
        with self._lock:
            self._last_nonce = max(self._clock(), self._last_nonce + 1)
            return self._last_nonce

    def sign_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | str | None = None,
        body: str = "",
        *,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """Builds the form body ``nonce=…&<params>&<body>`` and the ``API-Key`` / ``API-Sign`` headers.
        ``timestamp`` overrides the nonce."""
        http_method(method)
        nonce = self.next_nonce() if timestamp is None else timestamp
        parts = [f"nonce={nonce}", encode_params(params), body]
        postdata = "&".join(p for p in parts if p)
        headers = {"API-Key": self.api_key, "API-Sign": self.rest_signature(path, nonce, postdata)}
        return SignedRequest(headers, "", postdata)


# Market data ---------------------------------------------------------------------------------------


class Adapter(session_adapter.Adapter):
    """Kraken WebSocket v2: ``book`` (snapshot and updates with a top-10 CRC32 checksum; the book is
    cut to the subscribed depth), ``trade``; ``{"channel":"heartbeat"}`` arrives every second once
    subscribed, and the session pings with ``{"method":"ping"}`` when idle. Books are resynced by
    resubscribing. No sequence numbers: one line per session."""

    venue = "kraken"
    ws_label = "v2"
    production: ClassVar[list[dict[str, Any]]] = [
        {"name": "ws.kraken.com", "ws": {"v2": "wss://ws.kraken.com/v2"}, "rest": "https://api.kraken.com"},
    ]
    supported = ("book", "trades")
    ping_interval = 10.0
    server_time = ServerTime("/0/public/Time", lambda j: float(j["result"]["unixtime"]) * 1000, 1000.0)

    def message(self, method: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        out = []
        books = [s.symbol for s in subs if s.channel == "book"]
        trades = [s.symbol for s in subs if s.channel == "trades"]
        if books:
            depth = self.options.get("depth", self.spec.max_depth)
            params = {"channel": "book", "symbol": books, "depth": depth}
            if method == "subscribe":
                params["snapshot"] = True
            out.append(orjson.dumps({"method": method, "params": params, "req_id": self.next_id()}))
        if trades:
            out.append(
                orjson.dumps(
                    {
                        "method": method,
                        "params": {"channel": "trade", "symbol": trades},
                        "req_id": self.next_id(),
                    }
                )
            )
        return out

    async def prepare(self, session: MarketData) -> None:
        """Kraken v2 checksums are over the numbers formatted at the pair's precision, which the
        stream does not carry: take it from the venue options (``precision={"BTC/USD": (1, 8)}``)
        or from REST ``AssetPairs`` (``pair_decimals``, ``lot_decimals``)."""
        symbols = session.registry.symbols("book")
        known: dict[str, tuple[int, int]] = dict(self.options.get("precision", {}))
        missing = [s for s in symbols if s not in known]
        if missing:
            try:
                r = await session.rest().get("/0/public/AssetPairs", query={"pair": ",".join(missing)})
                for info in r.raise_for_status(self.venue).json()["result"].values():
                    known[info["wsname"]] = (int(info["pair_decimals"]), int(info["lot_decimals"]))
            except (TickwireError, OSError, KeyError, ValueError, TypeError) as e:
                log.warning("kraken: no instrument precisions (%s); checksums may not verify", e)
        for s in symbols:
            if s in known:
                session.feed.set_checksum_decimals(s, *known[s])

    def ping(self) -> bytes | None:
        return orjson.dumps({"method": "ping", "req_id": self.next_id()})

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        method = msg.get("method")
        if method == "pong":
            return streams.Control("pong")
        if method in ("subscribe", "unsubscribe"):
            if msg.get("success") is False:
                return streams.Control("error", str(msg.get("error", "")))
            return streams.Control("ack")
        return None


register(Adapter)
