"""Tradefence market data (``wss://stream.tradefence.com/market-data``).

Order entry and OAuth live elsewhere; this module holds the stream ``Adapter`` (``"tradefence"``,
registered for ``tickwire.connect``): production URLs, subscribe by symbol with
``{"action":"subscribe","symbols":[...]}``, JSON ``book`` / ``quote`` / ``trade`` messages, books
chained by ``seq``/``prev_seq`` the same on every connection (so A/B lines can be arbitrated; the
``sequence()`` reader serves the Python arbiter).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.session import adapter as session_adapter
from tickwire.venues import register

__all__ = ["Adapter"]

_SYM = re.compile(rb'"symbol":"([^"]+)"')
_SEQ = re.compile(rb'"seq":(\d+),"prev_seq":(-?\d+)')
_SNAP = re.compile(rb'"(?:action|type)":"snapshot"')


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
    ping_interval = 20.0

    def message(self, action: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        # Tradefence subscribes a symbol to all its channels at once.
        symbols = list(dict.fromkeys(s.symbol for s in subs))
        return [orjson.dumps({"action": action, "symbols": symbols})] if symbols else []

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        return streams.typed_control(msg)

    def sequence(self, payload: memoryview | bytes) -> tuple[str, int, int] | None:
        m = _SEQ.search(payload)
        if m is None:
            return None
        s = _SYM.search(payload)
        if s is None:
            return None
        seq, prev = int(m.group(1)), int(m.group(2))
        first = 0 if _SNAP.search(payload) else prev + 1
        return s.group(1).decode(), first, seq


register(Adapter)
