"""Bybit v5: request signing and market data.

``Signer``: hex HMAC-SHA256 of ``timestamp + api_key + recv_window + payload`` (REST headers,
WebSocket auth). ``Adapter`` (``"bybit"``, registered for ``tickwire.connect``): production URLs per
category, ``orderbook`` / ``publicTrade`` topics, the ``{"op":"ping"}`` keepalive, op responses, the
server-time path.
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

__all__ = ["DEFAULT_RECV_WINDOW", "MAX_RECV_WINDOW", "Adapter", "Signer"]

DEFAULT_RECV_WINDOW = 5000
# Bybit states no maximum. A window past a day is a unit slip or a typo, and would undo the replay
# protection the window exists for ("a smaller X-BAPI-RECV-WINDOW is more secure").
MAX_RECV_WINDOW = 86_400_000


def _checked_recv_window(ms: object) -> int:
    """``ms`` if it is a usable ``X-BAPI-RECV-WINDOW``: whole milliseconds, at least 1 (Bybit accepts a
    request while ``server_time - recv_window <= timestamp``), at most ``MAX_RECV_WINDOW``."""
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise TypeError(f"recv_window must be an int (ms), not {type(ms).__name__}")
    if not 0 < ms <= MAX_RECV_WINDOW:
        raise ValueError(f"recv_window must be 1..{MAX_RECV_WINDOW} ms (Bybit's default is 5000), got {ms}")
    return ms


class Signer(_core.BybitSigner):
    """Signs Bybit REST requests and WebSocket auth.

    >>> s = Signer("key", "secret")
    >>> s.rest_signature(1658384314791, 5000, "category=option&symbol=BTC-29JUL22-25000-C")
    >>> s.sign_request("GET", "/v5/order/realtime", {"category": "linear"}).headers   # X-BAPI-*
    >>> s.ws_auth_message()   # {"op": "auth", "args": [key, expires, signature]}
    """

    _clock: Clock
    _recv_window: int

    def __new__(
        cls, api_key: str, secret: str, *, recv_window: int = DEFAULT_RECV_WINDOW, clock: Clock | None = None
    ) -> Signer:
        self = super().__new__(cls, api_key, secret)
        self._clock = clock or now_ms
        self.recv_window = recv_window
        return self

    @property
    def recv_window(self) -> int:
        """``X-BAPI-RECV-WINDOW`` in ms; setting it checks it like the constructor does."""
        return self._recv_window

    @recv_window.setter
    def recv_window(self, ms: int) -> None:
        self._recv_window = _checked_recv_window(ms)

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
        http_method(method)
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


# Market data ---------------------------------------------------------------------------------------


class Adapter(session_adapter.Adapter):
    """Bybit v5 public streams (``category`` option: spot, linear, inverse): ``orderbook.<depth>.<s>``
    (every snapshot resets the book, ``u=1`` a restart; the book's depth is the ``depth`` option, 50)
    and ``publicTrade``. ``{"op":"ping"}`` every 20 s as Bybit recommends. Update ids are per topic and
    connection, so redundant lines cannot be arbitrated."""

    venue = "bybit"
    ws_label = "spot"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "stream.bybit.com",
            "ws": {c: f"wss://stream.bybit.com/v5/public/{c}" for c in ("spot", "linear", "inverse")},
            "rest": "https://api.bybit.com",
        },
    ]
    # No "bbo": Bybit's best bid/offer is the orderbook.1 book, which would share (and reset) the
    # symbol's deeper book in the feed.
    supported = ("book", "trades")
    ping_interval = 20.0
    ping_when_idle = False
    connect_limit = (500, 300.0)
    # timeNano is the finest field Bybit gives; its "time" is ms.
    server_time = ServerTime("/v5/market/time", lambda j: int(j["result"]["timeNano"]) / 1e6, 0.0)
    batch = 10  # spot takes at most 10 args per subscribe

    def ws_url(self, ep: streams.Endpoint, subs: Sequence[streams.Sub]) -> str:
        label = self.options.get("category", self.ws_label)
        return super().ws_url(
            streams.Endpoint({label: ep.ws[label]} if label in ep.ws else ep.ws, ep.rest, ep.name), subs
        )

    def topic(self, s: streams.Sub) -> str:
        if s.channel == "book":
            return f"orderbook.{self.options.get('depth', 50)}.{s.symbol}"
        return f"publicTrade.{s.symbol}"

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        args = [self.topic(s) for s in subs]
        return [orjson.dumps({"req_id": str(self.next_id()), "op": op, "args": args})] if args else []

    def ping(self) -> bytes | None:
        return orjson.dumps({"req_id": str(self.next_id()), "op": "ping"})

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        op = msg.get("op")
        if op == "pong" or (op == "ping" and msg.get("ret_msg") == "pong"):
            return streams.Control("pong")
        if op in ("subscribe", "unsubscribe"):
            if msg.get("success") is False:
                return streams.Control("error", str(msg.get("ret_msg", "")))
            return streams.Control("ack")
        return None


register(Adapter)
