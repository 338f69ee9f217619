"""HTX (Huobi) market data: ``Adapter`` (``"htx"``, registered for ``tickwire.connect``): production
hosts, ``mbp`` topics and ``req`` snapshot requests on the ``/feed`` socket, ``trade.detail`` on the
``/ws`` socket, gzip control frames, ``{"pong": n}`` answers, the server-time path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tickwire import streams
from tickwire.clock import ServerTime
from tickwire.session import adapter as session_adapter
from tickwire.streams import Channel
from tickwire.venues import register

__all__ = ["Adapter"]


class Adapter(session_adapter.Adapter):
    """HTX market data on ``/feed``: ``market.<s>.mbp.<levels>`` increments (seqNum/prevSeqNum),
    aligned with a ``req`` refresh on the same connection — also how a book that lost sync is
    rebuilt. Frames are gzip; the venue pings ``{"ping": n}`` every 5 s and the session answers
    ``{"pong": n}`` (two unanswered pings and the venue cuts). Symbols are lower case (``btcusdt``).

    Trades (``market.<s>.trade.detail``) are not served on ``/feed`` but on ``/ws``, which serves
    no MBP increments (venues.md 6.2): a session carries books or trades, and a bot wanting both
    opens one session for each."""

    venue = "htx"
    ws_label = "feed"
    supported = ("book", "trades")
    production: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "api.huobi.pro",
            "ws": {
                "feed": "wss://api.huobi.pro/feed",
                "ws": "wss://api.huobi.pro/ws",
                "v2": "wss://api.huobi.pro/ws/v2",
            },
            "rest": "https://api.huobi.pro",
        },
        {
            "name": "api-aws.huobi.pro",
            "ws": {
                "feed": "wss://api-aws.huobi.pro/feed",
                "ws": "wss://api-aws.huobi.pro/ws",
                "v2": "wss://api-aws.huobi.pro/ws/v2",
            },
            "rest": "https://api-aws.huobi.pro",
        },
    ]
    # "v2": the account and order socket (venues.md 6.3), the trading session's private stream.
    ping_interval = 15.0
    compressed = True
    server_time = ServerTime("/v1/common/timestamp", lambda j: float(j["data"]))

    def check_channels(self, channels: Sequence[Channel]) -> None:
        label = "ws" if "trades" in channels else "feed"
        now = self.options.setdefault("ws_label", label)
        if (label == "ws" and "book" in channels) or now != label:
            raise ValueError(
                "htx serves MBP books on its /feed socket and trades on /ws: a session carries one of "
                "them; open one session for books and one for trades"
            )

    def topic(self, symbol: str) -> str:
        return f"market.{symbol.lower()}.mbp.{self.options.get('levels', 20)}"

    def message(self, op: streams.Op, subs: Sequence[streams.Sub]) -> list[bytes]:
        key = "sub" if op == "subscribe" else "unsub"
        out = []
        for s in subs:
            if s.channel == "trades":
                out.append(
                    orjson.dumps({key: f"market.{s.symbol.lower()}.trade.detail", "id": str(self.next_id())})
                )
                continue
            out.append(orjson.dumps({key: self.topic(s.symbol), "id": str(self.next_id())}))
            if op == "subscribe":
                # The increments are aligned with a REQ refresh on the same connection.
                out.append(self.snapshot_request(s.symbol))
        return out

    def snapshot_request(self, symbol: str) -> bytes:
        return orjson.dumps({"req": self.topic(symbol), "id": str(self.next_id())})

    def read_control(self, msg: dict[str, Any]) -> streams.Control | None:
        if msg.get("status") == "error":
            return streams.Control("error", str(msg.get("err-msg", "")), str(msg.get("err-code", "")))
        if msg.get("status") == "ok":
            return streams.Control("ack")
        return None


register(Adapter)
