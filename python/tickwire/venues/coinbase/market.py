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
# Coinbase's public channels serve a ``-USDC`` product as its ``-USD`` one (one order book for both
# quote currencies): subscribed as ``BTC-USDC``, its messages name ``BTC-USD`` (the WebSocket channels
# page; ccxt PR #30567 read it live on 2026-09-21). These two are real USDC books of their own.
_OWN_USDC_BOOKS = frozenset({"USDT-USDC", "EURC-USDC"})


def served_as(product: str) -> str:
    """The product id Coinbase's public channels name ``product``'s messages by."""
    if product.upper().endswith("-USDC") and product.upper() not in _OWN_USDC_BOOKS:
        return product[: -len("USDC")] + "USD"
    return product


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
    # One product it does not list refuses the whole message, "Failure to subscribe", no product named
    # (Coinbase Exchange's feed ignored such a call whole, coinbase-pro-node#174; the simulator too).
    refusal_names_nothing = True
    # "Unauthenticated messages are rate-limited at 8 per second per IP" (venues.md §5.2): a burst of
    # (un)subscriptions, or ``Refusals.ask_apart``'s one message per product, is paced under it.
    ws_send_limit = (8, 1.0)

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

    def book_key(self, symbol: str) -> str:
        """A ``-USDC`` product's book is its ``-USD`` one's (``served_as``): ``md.book("BTC-USDC")``
        reads the book the venue's ``BTC-USD`` messages build, and its trades say ``BTC-USD``."""
        return super().book_key(served_as(symbol))


register(Adapter)
