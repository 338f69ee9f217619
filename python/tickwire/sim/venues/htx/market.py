"""The HTX venue class: the market WebSocket (venues.md §6.2), every server frame gzip-compressed JSON
(binary); the private ``/ws/v2`` socket; the routing of REST calls to ``trade.py``.

``/feed``: ``market.<sym>.mbp.<5|20|150|400>`` increments chained by ``prevSeqNum``/``seqNum`` and
the ``req`` refresh on the same connection. ``/ws``: ``mbp.refresh.<5|10|20>``, ``depth.step0..5``
(1 s snapshots), ``bbo``, ``trade.detail``. The server sends ``{"ping": ts}`` every 5 s and cuts a
client after two consecutive pings without a matching ``{"pong": ts}``.
"""

from __future__ import annotations

import gzip
from typing import Any, ClassVar

import orjson

from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import BookProcess, Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.venues.base import Venue
from tickwire.sim.venues.htx.auth import check_rest, v2_auth_ok
from tickwire.sim.venues.htx.limits import HtxLimits
from tickwire.sim.venues.htx.metadata import symbols
from tickwire.sim.venues.htx.trade import HtxOrders
from tickwire.sim.ws import Conn

MBP_LEVELS = (5, 20, 150, 400)
REFRESH_LEVELS = (5, 10, 20)


def gz(obj: Any) -> bytes:
    # Level 1: the venue's frames are small and the simulator must not spend its core compressing.
    return gzip.compress(obj if isinstance(obj, bytes) else orjson.dumps(obj), compresslevel=1, mtime=0)


class Htx(Venue):
    shows_status = True  # /v1/common/symbols lists suspend/offline; order entry refuses (trade.py)
    # /v1/common/symbols and order entry (trade.py) follow set_grid; the tick and lot are listed as
    # price-precision/amount-precision (decimal places), so only a power of ten can be set.
    sets_grid = True
    grid_decimals = frozenset({"tick", "lot"})
    name = "htx"
    ws_paths: ClassVar[dict[str, str]] = {"ws": "/ws", "feed": "/feed", "v2": "/ws/v2"}
    intervals: ClassVar[dict[str, float]] = {
        "ping_interval": 5.0,
        "refresh": 0.1,
        "depth_step": 1.0,
        "rate_window": 2.0,  # the private endpoints' limits (``limits``)
    }
    default_instruments = default_instruments(
        [
            ("btcusdt", "0.01", "0.000001", "60000", 1_000),
            ("ethusdt", "0.01", "0.0001", "3000", 100),
        ],
        {  # min_qty, max_qty, min_notional as the venue lists them
            "btcusdt": ("0.0001", "1000", "5"),
            "ethusdt": ("0.001", "5000", "5"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fmt = self.formats(strip=True)
        self.trade = HtxOrders(self.context(self.fmt))
        self.limits = HtxLimits(self.trade.ctx)
        # Per endpoint: when the periodic refresh / depth.step snapshots are next due.
        self.next_refresh: dict[int, float] = {}
        self.next_step: dict[int, float] = {}
        self.last_bbo: dict[str, tuple[int, int, int, int]] = {}
        self.secrets: dict[str, str] = {}

    def add_key(self, access_key: str, secret: str) -> None:
        self.secrets[access_key] = secret

    def _levels(self, symbol: str, levels: list[tuple[int, int]]) -> str:
        fp, fq = self.fmt[symbol]
        return ",".join(f"[{fp(p)},{fq(q)}]" for p, q in levels)

    # WebSocket ---------------------------------------------------------------------------------

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        return None if conn.path in ("/ws", "/feed", "/ws/v2") else (404, b"not found")

    def on_open(self, conn: Conn) -> None:
        conn.state["pings"] = []  # outstanding ping values, oldest first
        if conn.path == "/ws/v2" and self.trade.ctx.profile.get("v2_frames") == "gzip":
            # venues.md §6.3: "the SDK handles both text and gzip-binary frames on v2". Profile
            # ``v2_frames`` "gzip": every server frame of this socket (answers, pings, pushes) is
            # gzip-compressed JSON in a binary frame; "text" (the default) sends plain text frames.
            send_binary = conn.send_binary
            conn.send_text = lambda data: send_binary(gz(data))  # type: ignore[method-assign]

    def send_malformed(self, conn: Conn) -> None:
        conn.send_binary(b"\x1f\x8b\x08\x00garbage-not-gzip")

    def _reply(self, conn: Conn, obj: Any) -> None:
        conn.send_binary(gz(obj))

    def _bad(self, conn: Conn, rid: Any, msg: str) -> None:
        body = {"status": "error", "ts": conn.endpoint.now_ms(), "err-code": "bad-request", "err-msg": msg}
        if rid is not None:
            body["id"] = rid
        self._reply(conn, body)

    def _topic(self, conn: Conn, ch: str) -> tuple[str, str, int] | None:
        """(kind, symbol, n) for a valid topic on this path, else None."""
        parts = ch.split(".")
        if len(parts) < 3 or parts[0] != "market" or parts[1] not in self.books:
            return None
        sym, rest = parts[1], parts[2:]
        feed = conn.path == "/feed"
        if rest[0] == "mbp" and len(rest) == 2 and rest[1].isdigit() and int(rest[1]) in MBP_LEVELS and feed:
            return "mbp", sym, int(rest[1])
        if feed:
            return None
        if rest[:2] == ["mbp", "refresh"] and len(rest) == 3 and rest[2] in ("5", "10", "20"):
            return "refresh", sym, int(rest[2])
        if rest[0] == "depth" and len(rest) == 2 and rest[1] in {f"step{i}" for i in range(6)}:
            return "depth", sym, int(rest[1][4:])
        if rest == ["bbo"]:
            return "bbo", sym, 0
        if rest == ["trade", "detail"]:
            return "trade", sym, 0
        return None

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        if conn.path == "/ws/v2":
            self.on_v2(conn, gzip.decompress(data) if binary else data)
            return
        try:
            msg = orjson.loads(data)
            if not isinstance(msg, dict):
                raise TypeError
        except (orjson.JSONDecodeError, TypeError):
            self._bad(conn, None, "invalid json")
            return
        rid = msg.get("id")
        if "pong" in msg:
            pong = msg["pong"]
            if not isinstance(pong, int) or isinstance(pong, bool):
                self._bad(conn, rid, "invalid pong")
            elif pong in conn.state["pings"]:
                conn.state["pings"].clear()
            return
        if "ping" in msg:
            ping = msg["ping"]
            if not isinstance(ping, int) or isinstance(ping, bool):
                self._bad(conn, rid, "invalid ping")
            else:
                self._reply(conn, {"pong": ping})
            return
        ep = conn.endpoint
        for op in ("sub", "unsub", "req"):
            if op not in msg:
                continue
            topics = msg[op] if isinstance(msg[op], list) else [msg[op]]
            for ch in topics:
                t = self._topic(conn, str(ch))
                if t is None or (op == "req" and t[0] != "mbp"):
                    self._bad(conn, rid, f"invalid topic {ch}")
                    continue
                kind, sym, n = t
                if op == "req":
                    self._refresh_reply(conn, rid, str(ch), sym, n)
                    continue
                if op == "sub":
                    if kind == "mbp":
                        self.view(sym, n, True)
                    ep.subscribe(conn, ch)
                else:
                    ep.unsubscribe(conn, ch)
                self._reply(conn, {"id": rid, "status": "ok", op + "bed": ch, "ts": ep.now_ms()})
            return
        self._bad(conn, rid, "unsupported request")

    def on_v2(self, conn: Conn, data: bytes) -> None:
        try:
            msg = orjson.loads(data)
            action = msg["action"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            conn.send_text(orjson.dumps({"action": "req", "code": 2002, "message": "invalid request"}))
            return
        if action == "pong":
            ts = (msg.get("data") or {}).get("ts")
            if ts in conn.state["pings"]:
                conn.state["pings"].clear()
            return
        if action == "req" and msg.get("ch") == "auth":
            ok = v2_auth_ok(self.secrets, conn, msg.get("params") or {})
            conn.state["auth"] = ok
            if ok:
                conn.state["api_key"] = str((msg.get("params") or {})["accessKey"])
            reply: dict[str, Any] = {"action": "req", "code": 200 if ok else 2003, "ch": "auth", "data": {}}
            if not ok:
                reply["message"] = "auth.fail"
            conn.send_text(orjson.dumps(reply))
            return
        if not conn.state.get("auth"):
            conn.send_text(orjson.dumps({"action": action, "code": 2002, "message": "invalid.auth.state"}))
            return
        ch = str(msg.get("ch", ""))
        if action == "sub" and ch.startswith("orders#") and self.trade.subscribe(conn, ch):
            conn.send_text(orjson.dumps({"action": "sub", "code": 200, "ch": ch, "data": {}}))
            return
        # Of the private topics only orders#<symbol> (and orders#*) is simulated.
        conn.send_text(orjson.dumps({"action": action, "code": 2001, "message": "invalid.ch"}))

    def _refresh_reply(self, conn: Conn, rid: Any, ch: str, sym: str, n: int) -> None:
        view = self.view(sym, n, True)
        book = self.books[sym]
        bids, asks = self._levels(sym, book.bids.top(n)), self._levels(sym, book.asks.top(n))
        body = (
            f'{{"id":{orjson.dumps(rid).decode()},"rep":"{ch}","status":"ok","data":{{"seqNum":{view.seq},'
            f'"bids":[{bids}],"asks":[{asks}]}}}}'
        )
        self._reply(conn, body.encode())

    # publishing --------------------------------------------------------------------------------

    def on_step(self, symbol: str, step: Step) -> None:
        live = self.live
        for (depth, _), view in self.views[symbol].items():
            bids, asks = view.diff(step)
            if not bids and not asks:
                continue
            prev, view.seq = view.seq, step.last_id
            topic = f"market.{symbol}.mbp.{depth}"
            if topic not in live:
                continue
            tick = [f'"seqNum":{view.seq},"prevSeqNum":{prev}']
            if bids:
                tick.append(f'"bids":[{self._levels(symbol, bids)}]')
            if asks:
                tick.append(f'"asks":[{self._levels(symbol, asks)}]')
            payload: bytes | None = None
            for ep, subs in self.subscribers(topic):
                if ep.book_faults and ep.take_book_fault(symbol) == "gap":
                    continue
                if payload is None:
                    payload = gz(
                        f'{{"ch":"{topic}","ts":{ep.now_ms()},"tick":{{{",".join(tick)}}}}}'.encode()
                    )
                for c in subs:
                    c.send_binary(payload)
        book = self.books[symbol]
        if f"market.{symbol}.bbo" in live:
            self._bbo(symbol, book, step)
        if step.trades and f"market.{symbol}.trade.detail" in live:
            fp, fq = self.fmt[symbol]
            for ep, subs in self.subscribers(f"market.{symbol}.trade.detail"):
                ts = ep.now_ms()
                data = ",".join(
                    f'{{"id":{t.id},"ts":{ts},"tradeId":{t.id},"amount":{fq(t.qty)},"price":{fp(t.price)},'
                    f'"direction":"{"sell" if t.buyer_maker else "buy"}"}}'
                    # Newest first, as HTX's own pushes list them (shared/fixtures/real/htx.jsonl).
                    for t in reversed(step.trades)
                )
                msg = gz(
                    f'{{"ch":"market.{symbol}.trade.detail","ts":{ts},"tick":{{"id":{step.last_id},'
                    f'"ts":{ts},"data":[{data}]}}}}'.encode()
                )
                for c in subs:
                    c.send_binary(msg)

    def _bbo(self, symbol: str, book: BookProcess, step: Step) -> None:
        bb, ba = book.bids.best(), book.asks.best()
        if bb is None or ba is None:
            return
        bbo = (bb, book.bids.levels[bb], ba, book.asks.levels[ba])
        if bbo == self.last_bbo.get(symbol):
            return
        self.last_bbo[symbol] = bbo
        fp, fq = self.fmt[symbol]
        for ep, subs in self.subscribers(f"market.{symbol}.bbo"):
            ts = ep.now_ms()
            msg = gz(
                f'{{"ch":"market.{symbol}.bbo","ts":{ts},"tick":{{"seqId":{step.last_id},'
                f'"ask":{fp(ba)},"askSize":{fq(book.asks.levels[ba])},"bid":{fp(bb)},'
                f'"bidSize":{fq(book.bids.levels[bb])},"quoteTime":{ts},"symbol":"{symbol}"}}}}'.encode()
            )
            for c in subs:
                c.send_binary(msg)

    def _aggregate(self, symbol: str, side: int, step_n: int, n: int) -> list[tuple[int, int]]:
        """depth.stepN: step0 is the raw book; stepN merges prices into buckets of 10**N ticks."""
        book = self.books[symbol]
        levels = book.side(side).top(None if step_n else n)
        if step_n == 0:
            return levels
        size = 10**step_n
        out: dict[int, int] = {}
        for p, q in levels:
            bucket = (p // size) * size if side == 0 else -((-p) // size) * size
            out[bucket] = out.get(bucket, 0) + q
        return sorted(out.items(), key=lambda pq: -pq[0] if side == 0 else pq[0])[:n]

    def on_timer(self, ep: VenueServer, now: float) -> None:
        every = self.interval("ping_interval")
        for c in list(ep.conns.values()):
            if c.next_ping_at == 0.0:
                c.next_ping_at = c.opened_at + every
            if now >= c.next_ping_at and not ep.stalled:
                c.next_ping_at = now + every
                pings: list[int] = c.state["pings"]
                if len(pings) >= 2:
                    c.abort()
                    continue
                ts = ep.now_ms()
                pings.append(ts)
                if c.path == "/ws/v2":
                    c.send_text(orjson.dumps({"action": "ping", "data": {"ts": ts}}))
                else:
                    self._reply(c, {"ping": ts})
        if ep.stalled:
            return
        if now >= self.next_refresh.get(ep.index, 0.0):
            self.next_refresh[ep.index] = now + self.interval("refresh")
            for sym in self.books:
                for n in REFRESH_LEVELS:
                    self._periodic(ep, f"market.{sym}.mbp.refresh.{n}", sym, 0, n, refresh=True)
        if now >= self.next_step.get(ep.index, 0.0):
            self.next_step[ep.index] = now + self.interval("depth_step")
            for sym in self.books:
                for k in range(6):
                    self._periodic(ep, f"market.{sym}.depth.step{k}", sym, k, 150, refresh=False)

    def _periodic(self, ep: VenueServer, topic: str, sym: str, step_n: int, n: int, refresh: bool) -> None:
        subs = ep.topics.get(topic)
        if not subs:
            return
        ts = ep.now_ms()
        bids = self._levels(sym, self._aggregate(sym, 0, step_n, n))
        asks = self._levels(sym, self._aggregate(sym, 1, step_n, n))
        book = self.books[sym]
        if refresh:
            tick = f'{{"seqNum":{book.update_id},"bids":[{bids}],"asks":[{asks}]}}'
        else:
            tick = f'{{"bids":[{bids}],"asks":[{asks}],"version":{book.update_id},"ts":{ts}}}'
        msg = gz(f'{{"ch":"{topic}","ts":{ts},"tick":{tick}}}'.encode())
        for c in subs:
            c.send_binary(msg)

    # REST --------------------------------------------------------------------------------------

    async def http(self, ep: VenueServer, req: Request) -> Response:
        if (req.method, req.path) == ("GET", "/v1/common/timestamp"):
            return json_response({"status": "ok", "data": ep.now_ms()})
        if (req.method, req.path) == ("GET", "/v1/common/symbols"):
            grid = {s: self.grids.listed(s, ep.now_ms()) for s in self.instruments}
            return json_response(symbols(grid, self.status))
        if req.path.startswith("/v1/account/") or req.path.startswith("/v1/order/"):
            denied = check_rest(self.secrets, ep, req)
            if denied is not None:
                return denied
            key = dict(req.query)["AccessKeyId"]
            refused, usage = self.limits.charge(key, req.method, req.path)
            if refused is not None:
                return refused
            routed = self.trade.route(ep, req, key)
            if routed is not None:
                routed.headers.extend(usage)
                return routed
        return json_response(
            {"status": "error", "err-code": "invalid-path", "err-msg": req.path, "data": None}
        )
