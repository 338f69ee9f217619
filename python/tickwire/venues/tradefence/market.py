"""Tradefence market data (``wss://stream.tradefence.com/market-data``).

Order entry, OAuth and webhooks are the package's other modules; this one holds the stream
``Adapter`` (``"tradefence"``, registered for ``tickwire.connect``): production URLs, subscribe by symbol with
``{"action":"subscribe","symbols":[...]}``, JSON ``book`` / ``quote`` / ``trade`` messages, books
chained by ``seq``/``prev_seq`` the same on every connection (so A/B lines can be arbitrated, in
Rust).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["Adapter"]


class Adapter(session_adapter.Adapter):
    venue = "tradefence"
    ws_label = "market_data"
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "stream.tradefence.com",
            "ws": {"market_data": "wss://stream.tradefence.com/market-data"},
            "rest": "https://api.tradefence.com",
        },
    ]
    supported = ("book", "trades", "bbo")
    symbol_wide = True
    ping_interval = 20.0

    def message(self, action: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        # Tradefence subscribes a symbol to all its channels at once.
        symbols = list(dict.fromkeys(s.symbol for s in subs))
        return [orjson.dumps({"action": action, "symbols": symbols})] if symbols else []

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        return streams.typed_control(msg)


register(Adapter)
