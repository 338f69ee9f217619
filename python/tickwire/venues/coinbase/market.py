"""Coinbase Advanced Trade market data: ``Adapter`` (``"coinbase"``, registered for
``tickwire.connect``): production hosts, ``level2`` / ``market_trades`` / ``heartbeats`` subscriptions
(with JWTs when given a signer), error frames, the server-time path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.clock import ServerTime
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["Adapter"]


# Market data ---------------------------------------------------------------------------------------

_CB_CHANNEL = {"book": "level2", "trades": "market_trades"}


class Adapter(session_adapter.Adapter):
    """Coinbase Advanced Trade: ``level2`` (one channel per subscribe message, within 5 s of
    connecting), ``market_trades``, and ``heartbeats`` always, which keep quiet channels open.
    ``sequence_num`` counts messages per connection, so a new connection starts every book afresh
    and redundant lines cannot be arbitrated. Pass ``signer=coinbase.Signer(...)`` in the options to
    send a fresh JWT with every subscribe message."""

    venue = "coinbase"
    ws_label = "market"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "advanced-trade-ws.coinbase.com",
            # "user": the private order channel's own host (venues.md §5.2), the trading session's stream.
            "ws": {
                "market": "wss://advanced-trade-ws.coinbase.com",
                "user": "wss://advanced-trade-ws-user.coinbase.com",
            },
            "rest": "https://api.coinbase.com",
        },
    ]
    supported = ("book", "trades")
    ping_interval = 10.0
    server_time = ServerTime("/api/v3/brokerage/time", lambda j: float(j["epochMillis"]))

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        kind, heartbeats = op, op == "subscribe"
        out = []
        signer = self.options.get("signer")
        for ch in ("book", "trades"):
            products = [s.symbol for s in subs if s.channel == ch]
            if products:
                out.append(self._one(kind, _CB_CHANNEL[ch], products, signer))
        if heartbeats:
            out.append(self._one(kind, "heartbeats", [], signer))
        return out

    @staticmethod
    def _one(kind: str, channel: str, products: list[str], signer: Any) -> bytes:
        msg: dict[str, Any] = {"type": kind, "product_ids": products, "channel": channel}
        if signer is not None:
            msg["jwt"] = signer.ws_jwt()
        return orjson.dumps(msg)

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        return streams.typed_control(msg)


register(Adapter)
