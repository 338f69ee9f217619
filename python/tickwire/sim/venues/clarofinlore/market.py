"""The Clarofinlore venue class: market data on ``/v1/stream`` (seed-venues.md: "compressed JSON
messages every 100 ms"), the socket limits, and the routing of authenticated REST calls.

Defaults where the document is silent, each a profile setting: subscribe with
``{"op":"subscribe","channels":["orderbook.btc-usdt","trades.eth-usdt"]}``; every server frame is
binary, compressed with ``compression`` = ``zlib`` (default), ``deflate`` (raw) or ``gzip``; book
messages ``{"channel","type":"snapshot"|"update","seq","prev_seq","ts","bids","asks"}`` with qty
``"0"`` deleting, the changes of each ``publish_interval`` merged into one update per channel. The
server pings with RFC 6455 frames and cuts a client that does not answer.

Given a TLS context (``Simulator(tls={"clarofinlore": ctx})``), REST and streams are served over TLS,
and the context must demand TLS 1.3 and a client certificate: the documented mutual authentication.
"""

from __future__ import annotations

import gzip
import zlib
from decimal import Decimal
from typing import Any, ClassVar

import orjson
from picows import WSCloseCode

from tickwire.sim.http import Request, Response
from tickwire.sim.market import BID, Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.tls import is_mutual_tls13
from tickwire.sim.venues.base import Venue
from tickwire.sim.venues.clarofinlore.auth import ClarofinloreAuth
from tickwire.sim.venues.clarofinlore.trade import KILL_SWITCH, ClarofinloreOrders
from tickwire.sim.venues.clarofinlore.twap import ClarofinloreTwap
from tickwire.sim.ws import Conn

COMPRESSIONS = ("zlib", "deflate", "gzip")


def compress(data: bytes, how: str) -> bytes:
    if how == "zlib":
        return zlib.compress(data, 1)
    if how == "gzip":
        return gzip.compress(data, 1, mtime=0)
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


class Clarofinlore(Venue):
    name = "clarofinlore"
    # Funded accounts' margin orders: 10x unless the profile says otherwise (venues' common default).
    leverage = Decimal(10)
    ws_paths: ClassVar[dict[str, str]] = {"stream": "/v1/stream"}
    intervals: ClassVar[dict[str, float]] = {
        "publish": 0.1,
        "ping_interval": 20.0,
        "pong_timeout": 60.0,
        "timestamp_window": 5.0,
        "token_ttl": 900.0,
        "rate_window": 1.0,
    }
    default_instruments = default_instruments(
        [
            ("btc-usdt", "0.01", "0.00001", "60000", 100),
            ("eth-usdt", "0.01", "0.0001", "3000", 100),
        ]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compression = str(self.config.profile.get("compression", "zlib"))
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}")
        self.fmt = self.formats()
        self.seq = dict.fromkeys(self.books, 0)
        self.pending: dict[str, dict[tuple[int, int], int]] = {s: {} for s in self.books}
        self.pending_trades: dict[str, list[Any]] = {s: [] for s in self.books}
        self.next_publish = 0.0
        ctx = self.context(self.fmt)
        self.orders = ClarofinloreOrders(ctx)
        self.twap = ClarofinloreTwap(ctx, self.orders.order_json)
        self.auth = ClarofinloreAuth(ctx, self._route)
        self.max_sockets = int(self.config.profile.get("max_sockets", 10))
        self.ws_auth = str(self.config.profile.get("ws_auth", "optional"))
        if self.config.tls is not None and not is_mutual_tls13(self.config.tls):
            raise ValueError(
                "clarofinlore serves mutual TLS 1.3 only: "
                "tickwire.sim.tls.server_context(cert, key, client_ca, tls13_only=True)"
            )

    def add_key(self, key: str, secret: str) -> None:
        self.auth.add_key(key, secret)

    def revoke_key(self, key: str) -> None:
        self.auth.revoke_key(key)

    async def http(self, ep: VenueServer, req: Request) -> Response:
        return await self.auth.rest(ep, req)

    def _route(self, ep: VenueServer, req: Request, key: str) -> Response | None:
        """An authenticated request of ``key`` (the auth part calls it once the checks pass)."""
        if req.path.startswith("/v1/orders/twap"):
            return self.twap.route(ep, req, key)
        if (req.method, req.path) in KILL_SWITCH:
            # The kill switch stops order flow first (a cancel-all of one symbol: that symbol's).
            symbol = req.json_object().get("symbol")
            self.twap.stop_all(key, None if symbol is None else str(symbol))
        return self.orders.route(ep, req, key)

    async def stop(self) -> None:
        self.twap.stop_all()

    def _send(self, conn: Conn, obj: Any) -> None:
        conn.send_binary(compress(orjson.dumps(obj), self.compression))

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        if conn.path != "/v1/stream":
            return 404, b"not found"
        auth = conn.headers.get("authorization", "")
        if not auth and self.ws_auth != "required":
            return None
        key = self.auth.bearer(conn.endpoint, auth)
        if key is None:
            return 401, orjson.dumps({"code": 4015, "message": "invalid or expired access token"})
        # The limit is per key across all endpoints: a failover does not buy extra sockets.
        open_ = sum(1 for ep in self.endpoints for c in ep.conns.values() if c.state.get("key") == key)
        if open_ >= self.max_sockets:
            msg = f"at most {self.max_sockets} concurrent connections per API key"
            return 429, orjson.dumps({"code": 429, "message": msg})
        conn.state["key"] = key
        return None

    def on_open(self, conn: Conn) -> None:
        # picows gives the upgrade hook no peer address: the whitelist is applied once the socket is up.
        peer = conn.transport.underlying_transport.get_extra_info("peername") if conn.transport else None
        if peer and not self.auth.ip_allowed(f"{peer[0]}:{peer[1]}"):
            conn.close(WSCloseCode.POLICY_VIOLATION, b"ip address not whitelisted")

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        try:
            msg = orjson.loads(data)
            op, channels = msg["op"], msg["channels"]
            if op not in ("subscribe", "unsubscribe") or not isinstance(channels, list):
                raise ValueError(op)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self._send(conn, {"type": "error", "code": 400, "message": "invalid request"})
            return
        for ch in channels:
            kind, _, sym = str(ch).partition(".")
            if kind not in ("orderbook", "trades") or sym not in self.books:
                self._send(conn, {"type": "error", "code": 404, "message": f"unknown channel {ch}"})
                continue
            if op == "unsubscribe":
                conn.endpoint.unsubscribe(conn, ch)
                self._send(conn, {"type": "unsubscribed", "channel": ch})
                continue
            self._send(conn, {"type": "subscribed", "channel": ch})
            if ch not in conn.topics:
                conn.endpoint.subscribe(conn, ch)
                if kind == "orderbook":
                    self._snapshot(conn, sym)

    def _snapshot(self, conn: Conn, sym: str) -> None:
        # Changes not yet published are in the book already: flush them first so the snapshot and
        # the next update chain.
        self._flush_symbol(sym)
        fp, fq = self.fmt[sym]
        book = self.books[sym]
        seq = self.seq[sym]
        self._send(
            conn,
            {
                "channel": f"orderbook.{sym}",
                "type": "snapshot",
                "seq": seq,
                "prev_seq": seq - 1,
                "ts": conn.endpoint.now_ms(),
                "bids": [[fp(p), fq(q)] for p, q in book.bids.top()],
                "asks": [[fp(p), fq(q)] for p, q in book.asks.top()],
            },
        )

    def on_step(self, symbol: str, step: Step) -> None:
        pend = self.pending[symbol]
        for s, p, q in step.changes:
            pend[(s, p)] = q
        if step.trades:
            self.pending_trades[symbol].extend(step.trades)

    def _flush_symbol(self, sym: str) -> None:
        pend = self.pending[sym]
        trades = self.pending_trades[sym]
        fp, fq = self.fmt[sym]
        if pend:
            self.seq[sym] += 1
            seq = self.seq[sym]
            bids = sorted(((p, q) for (s, p), q in pend.items() if s == BID), reverse=True)
            asks = sorted((p, q) for (s, p), q in pend.items() if s != BID)
            pend.clear()
            ch = f"orderbook.{sym}"
            for ep, subs in self.subscribers(ch):
                if ep.book_faults and ep.take_book_fault(sym) == "gap":
                    continue
                body = {
                    "channel": ch,
                    "type": "update",
                    "seq": seq,
                    "prev_seq": seq - 1,
                    "ts": ep.now_ms(),
                    "bids": [[fp(p), fq(q)] for p, q in bids],
                    "asks": [[fp(p), fq(q)] for p, q in asks],
                }
                frame = compress(orjson.dumps(body), self.compression)
                for c in subs:
                    c.send_binary(frame)
        if trades:
            ch = f"trades.{sym}"
            for ep, subs in self.subscribers(ch):
                items = [
                    {
                        "id": t.id,
                        "price": fp(t.price),
                        "qty": fq(t.qty),
                        "side": "sell" if t.buyer_maker else "buy",
                    }
                    for t in trades
                ]
                frame = compress(
                    orjson.dumps({"channel": ch, "ts": ep.now_ms(), "trades": items}), self.compression
                )
                for c in subs:
                    c.send_binary(frame)
            trades.clear()

    def on_timer(self, ep: VenueServer, now: float) -> None:
        self.ws_ping_cycle(ep, now, self.interval("ping_interval"), self.interval("pong_timeout"))
        # The merged updates belong to the venue, not to one endpoint: whichever endpoint's timer
        # runs first publishes them everywhere.
        if now >= self.next_publish:
            self.next_publish = now + self.interval("publish")
            for sym in self.books:
                self._flush_symbol(sym)
