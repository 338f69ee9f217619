"""Bybit v5 market data, registered for ``tickwire.connect``: ``Adapter`` (``"bybit"``) — production URLs
per category (and the private and trade sockets order entry uses), ``orderbook`` / ``publicTrade``
topics, the ``{"op":"ping"}`` keepalive, op responses, the server-time path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.clock import ServerTime
from tickwire.session import adapter as session_adapter
from tickwire.venues import register


def is_pong(msg: Any) -> bool:
    """Bybit's answer to its ``{"op":"ping"}``, in every shape a socket gives it: op "pong" (private,
    trade, option), or op "ping" with ret_msg "pong" (spot, linear, inverse)."""
    if not isinstance(msg, dict):
        return False
    op = msg.get("op")
    return op == "pong" or (op == "ping" and msg.get("ret_msg") == "pong")


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
            "ws": {
                **{c: f"wss://stream.bybit.com/v5/public/{c}" for c in ("spot", "linear", "inverse")},
                # Order entry's sockets (venues.md 3.2): the private stream and the trade socket.
                "private": "wss://stream.bybit.com/v5/private",
                "trade": "wss://stream.bybit.com/v5/trade",
            },
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
    refusal_takes_batch = True  # one unknown topic refuses the whole message

    def ws_url(self, ep: streams.Endpoint, subs: Sequence[streams.Sub]) -> str:
        label = self.options.get("category", self.ws_label)
        return super().ws_url(
            streams.Endpoint({label: ep.ws[label]} if label in ep.ws else ep.ws, ep.rest, ep.name), subs
        )

    def books_are_traded(self) -> bool:
        # Order entry here is spot only: a linear or inverse book does not price its orders.
        return bool(self.options.get("category", self.ws_label) == "spot")

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
        if is_pong(msg):
            return streams.Control("pong")
        if op in ("subscribe", "unsubscribe"):
            if msg.get("success") is False:
                return streams.Control("error", str(msg.get("ret_msg", "")))
            return streams.Control("ack")
        return None


register(Adapter)
