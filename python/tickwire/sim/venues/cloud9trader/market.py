"""The Cloud9Trader venue class (seed-venues.md): a WebSocket API authenticated by HMAC headers on the
HTTP upgrade.

The upgrade must carry ``x-c9t-key``, ``x-c9t-nonce`` (ms since the epoch) and ``x-c9t-signature`` =
hex HMAC-SHA256 keyed with the base64-decoded secret over ``path + nonce``. Defaults where the document
is silent: a nonce more than 5 s from the venue clock, or not above the last one seen for the key, is
refused with 401. After the upgrade: ``{"op":"subscribe"|"unsubscribe","channels":[...]}``; channels
``book.<SYMBOL>`` (snapshot then updates, ``seq``/``prev_seq``) and ``trades.<SYMBOL>``.
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar

import orjson

from tickwire.sim.auth import cloud9_signature
from tickwire.sim.market import BID, Step, default_instruments
from tickwire.sim.venues.base import Venue
from tickwire.sim.ws import Conn

NONCE_WINDOW_MS = 5000


class Cloud9Trader(Venue):
    name = "cloud9trader"
    ws_paths: ClassVar[dict[str, str]] = {"socket": "/"}
    default_instruments = default_instruments(
        [
            ("EURUSD", "0.00001", "1", "1.08", 10_000),
            ("BTCUSD", "0.1", "0.0001", "60000", 100),
        ]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secrets: dict[str, str] = {}
        self.last_nonce: dict[str, int] = {}
        self.fmt = self.formats()
        self.seq = dict.fromkeys(self.books, 0)

    def add_key(self, key: str, secret_b64: str) -> None:
        self.secrets[key] = secret_b64

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        h = conn.headers
        key, nonce, sig = h.get("x-c9t-key"), h.get("x-c9t-nonce"), h.get("x-c9t-signature")
        if not key or not nonce or not sig:
            return 401, b'{"error":"missing authentication headers"}'
        secret = self.secrets.get(key)
        if secret is None:
            return 401, b'{"error":"unknown key"}'
        if not nonce.isdigit():
            return 401, b'{"error":"bad nonce"}'
        want = cloud9_signature(secret, conn.path or "/", nonce)
        # The document specifies lowercase hex: an uppercase signature is a different string.
        if not hmac.compare_digest(want.encode(), sig.encode("utf-8", "replace")):
            return 401, b'{"error":"bad signature"}'
        n = int(nonce)
        if abs(n - conn.endpoint.now_ms()) > NONCE_WINDOW_MS:
            return 401, b'{"error":"nonce outside the time window"}'
        if n <= self.last_nonce.get(key, 0):
            return 401, b'{"error":"nonce not increasing"}'
        self.last_nonce[key] = n
        return None

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        try:
            msg = orjson.loads(data)
            op, channels = msg["op"], msg["channels"]
            if op not in ("subscribe", "unsubscribe") or not isinstance(channels, list):
                raise ValueError(op)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            conn.send_text(b'{"type":"error","message":"invalid request"}')
            return
        for ch in channels:
            kind, _, sym = str(ch).partition(".")
            if kind not in ("book", "trades") or sym not in self.books:
                conn.send_text(orjson.dumps({"type": "error", "message": f"unknown channel {ch}"}))
                continue
            if op == "unsubscribe":
                conn.endpoint.unsubscribe(conn, ch)
                conn.send_text(orjson.dumps({"type": "unsubscribed", "channel": ch}))
                continue
            conn.send_text(orjson.dumps({"type": "subscribed", "channel": ch}))
            if ch not in conn.topics:
                conn.endpoint.subscribe(conn, ch)
                if kind == "book":
                    self._snapshot(conn, sym)

    def _snapshot(self, conn: Conn, sym: str) -> None:
        fp, fq = self.fmt[sym]
        book = self.books[sym]
        seq = self.seq[sym]
        msg = {
            "channel": f"book.{sym}",
            "type": "snapshot",
            "seq": seq,
            "prev_seq": seq - 1,
            "ts": conn.endpoint.now_ms(),
            "bids": [[fp(p), fq(q)] for p, q in book.bids.top()],
            "asks": [[fp(p), fq(q)] for p, q in book.asks.top()],
        }
        conn.send_text(orjson.dumps(msg))

    def on_step(self, symbol: str, step: Step) -> None:
        self.seq[symbol] += 1
        seq = self.seq[symbol]
        fp, fq = self.fmt[symbol]
        ch = f"book.{symbol}"
        for ep, subs in self.subscribers(ch):
            if ep.book_faults and ep.take_book_fault(symbol) == "gap":
                continue
            msg = orjson.dumps(
                {
                    "channel": ch,
                    "type": "update",
                    "seq": seq,
                    "prev_seq": seq - 1,
                    "ts": ep.now_ms(),
                    "bids": [[fp(p), fq(q)] for s, p, q in step.changes if s == BID],
                    "asks": [[fp(p), fq(q)] for s, p, q in step.changes if s != BID],
                }
            )
            for c in subs:
                c.send_text(msg)
        if step.trades:
            ch = f"trades.{symbol}"
            for ep, subs in self.subscribers(ch):
                trades = [
                    {
                        "id": t.id,
                        "price": fp(t.price),
                        "qty": fq(t.qty),
                        "side": "sell" if t.buyer_maker else "buy",
                    }
                    for t in step.trades
                ]
                msg = orjson.dumps({"channel": ch, "type": "trades", "ts": ep.now_ms(), "trades": trades})
                for c in subs:
                    c.send_text(msg)
