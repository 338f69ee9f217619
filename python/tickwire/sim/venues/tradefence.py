"""Tradefence market data (seed-venues.md): ``/market-data``, JSON text frames.

``{"action":"subscribe","symbols":["AAPL"]}`` (the document's shape). Defaults where it is silent:
the ack ``{"type":"subscribed","symbols":[...]}``; per symbol a ``book`` snapshot then updates shaped
like Clarofinlore's (``action`` snapshot/update, ``seq``/``prev_seq``, string levels, ``"0"``
deletes), ``quote`` on a best bid/ask change and ``trade`` messages.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from tickwire.sim.market import BID, Step, default_instruments
from tickwire.sim.venues.base import Venue
from tickwire.sim.ws import Conn


class Tradefence(Venue):
    name = "tradefence"
    ws_paths: ClassVar[dict[str, str]] = {"market_data": "/market-data"}
    default_instruments = default_instruments(
        [
            ("AAPL", "0.01", "1", "190", 100),
            ("GOOGL", "0.01", "1", "170", 100),
        ]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fmt = self.formats()
        self.seq = dict.fromkeys(self.books, 0)
        self.last_quote: dict[str, tuple[int, int, int, int]] = {}

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        return None if conn.path == "/market-data" else (404, b"not found")

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        try:
            msg = orjson.loads(data)
            action, symbols = msg["action"], msg["symbols"]
            if action not in ("subscribe", "unsubscribe") or not isinstance(symbols, list):
                raise ValueError(action)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            conn.send_text(orjson.dumps({"type": "error", "code": 1004, "message": "invalid request"}))
            return
        bad = [s for s in symbols if s not in self.books]
        if bad:
            conn.send_text(
                orjson.dumps({"type": "error", "code": 1004, "message": f"invalid symbol {bad[0]}"})
            )
        good = [s for s in symbols if s in self.books]
        conn.send_text(orjson.dumps({"type": action + "d", "symbols": good}))
        for sym in good:
            if action == "unsubscribe":
                conn.endpoint.unsubscribe(conn, sym)
            elif sym not in conn.topics:
                conn.endpoint.subscribe(conn, sym)
                self._snapshot(conn, sym)

    def _snapshot(self, conn: Conn, sym: str) -> None:
        fp, fq = self.fmt[sym]
        book = self.books[sym]
        seq = self.seq[sym]
        body = {
            "type": "book",
            "symbol": sym,
            "action": "snapshot",
            "seq": seq,
            "prev_seq": seq - 1,
            "ts": conn.endpoint.now_ms(),
            "bids": [[fp(p), fq(q)] for p, q in book.bids.top()],
            "asks": [[fp(p), fq(q)] for p, q in book.asks.top()],
        }
        conn.send_text(orjson.dumps(body))

    def on_step(self, symbol: str, step: Step) -> None:
        self.seq[symbol] += 1
        if symbol not in self.live:
            return
        seq = self.seq[symbol]
        fp, fq = self.fmt[symbol]
        book = self.books[symbol]
        bb, ba = book.bids.best(), book.asks.best()
        quote = None
        if bb is not None and ba is not None:
            q4 = (bb, book.bids.levels[bb], ba, book.asks.levels[ba])
            if q4 != self.last_quote.get(symbol):
                self.last_quote[symbol] = quote = q4
        for ep, subs in self.subscribers(symbol):
            ts = ep.now_ms()
            msgs = []
            if not (ep.book_faults and ep.take_book_fault(symbol) == "gap"):
                body = {
                    "type": "book",
                    "symbol": symbol,
                    "action": "update",
                    "seq": seq,
                    "prev_seq": seq - 1,
                    "ts": ts,
                    "bids": [[fp(p), fq(q)] for s, p, q in step.changes if s == BID],
                    "asks": [[fp(p), fq(q)] for s, p, q in step.changes if s != BID],
                }
                msgs.append(orjson.dumps(body))
            for t in step.trades:
                side = "SELL" if t.buyer_maker else "BUY"
                trade: dict[str, Any] = {"type": "trade", "symbol": symbol, "id": t.id, "ts": ts}
                trade.update(price=fp(t.price), quantity=fq(t.qty), side=side)
                msgs.append(orjson.dumps(trade))
            if quote is not None:
                q: dict[str, Any] = {"type": "quote", "symbol": symbol, "ts": ts}
                q.update(bid=fp(quote[0]), bid_size=fq(quote[1]), ask=fp(quote[2]), ask_size=fq(quote[3]))
                msgs.append(orjson.dumps(q))
            for c in subs:
                for m in msgs:
                    c.send_text(m)
