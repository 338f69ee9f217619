"""The Kraken venue class: spot WebSocket market data, v2 (``/v2``) and v1 (``/``) book channels
(venues.md §4.2), REST API-Sign checks, and the routing of order entry to ``trade.py``.

Prices and sizes are printed with the instrument's precision (v2 as JSON numbers, v1 as strings). A
subscription has a depth (10/25/100/500/1000); updates carry only levels inside it and never a size-0
for a level merely pushed out, so clients must truncate (as the docs say). The checksum is the CRC32
of the top 10 asks then bids, each ``price+qty`` with the point removed and leading zeros stripped,
from the values formatted at the instrument's precision (v2 numbers arrive in shortest form).
v2: ``{"channel":"heartbeat"}`` about once a second on an otherwise quiet subscribed connection, and
the ``ping`` method. v1: ``[chanId, {...}, "book-<depth>", pair]`` arrays, ``{"event":"heartbeat"}``.
"""

from __future__ import annotations

import hmac
import secrets
import time
import zlib
from typing import Any, ClassVar

import orjson

from tickwire.sim.auth import kraken_api_sign
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.market import Fmt, Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.timefmt import rfc3339
from tickwire.sim.venues.base import Venue
from tickwire.sim.venues.kraken.history import asset_pair, rest_names
from tickwire.sim.venues.kraken.limits import KrakenLimits
from tickwire.sim.venues.kraken.trade import KrakenOrders
from tickwire.sim.ws import Conn

DEPTHS = (10, 25, 100, 500, 1000)


def _digits(s: str) -> str:
    return s.replace(".", "").lstrip("0")


def kraken_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    text = "".join(_digits(p) + _digits(q) for p, q in asks[:10]) + "".join(
        _digits(p) + _digits(q) for p, q in bids[:10]
    )
    return zlib.crc32(text.encode())


class Kraken(Venue):
    shows_status = True  # AssetPairs lists cancel_only; order entry refuses (trade.py)
    # AssetPairs and order entry (trade.py) follow set_grid: tick_size and ordermin. Not the lot:
    # lot_decimals is listed as places, and no refusal of a volume past them is documented.
    sets_grid = True
    grid_params = frozenset({"tick", "min_qty"})
    name = "kraken"
    ws_paths: ClassVar[dict[str, str]] = {"v2": "/v2", "v1": "/", "v2_auth": "/auth/v2"}
    has_checksum = True
    # The rate counters' windows (``limits``) are time-outs too, so tests can shorten them.
    # ``token_life``: how long a WebSocket token may wait for its first connection (docs: 15 minutes).
    intervals: ClassVar[dict[str, float]] = {
        "heartbeat": 1.0,
        "rest_window": 45.0,
        "pair_window": 60.0,
        "token_life": 900.0,
    }
    default_instruments = default_instruments(
        [
            ("BTC/USD", "0.1", "0.00000001", "60000", 100_000),
            ("ETH/USD", "0.01", "0.00000001", "3000", 1_000_000),
            ("BTC/USDT", "0.1", "0.00000001", "60000", 100_000),
        ],
        {  # min_qty (ordermin), max_qty, min_notional (costmin) as the venue lists them
            "BTC/USD": ("0.00005", "0", "0.5"),
            "ETH/USD": ("0.002", "0", "0.5"),
            "BTC/USDT": ("0.00005", "0", "0.5"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # v1 prints fixed-precision strings; v2 prints JSON numbers in their shortest form, so a
        # client must re-format them with the instrument's precision for the checksum (as the docs
        # and the official sample client do) rather than reuse the text.
        self.fmt = {s: (Fmt(i.tick, i.price_decimals), Fmt(i.lot, 8)) for s, i in self.instruments.items()}
        self.fmt2 = {
            s: (Fmt(i.tick, i.price_decimals, strip=True), Fmt(i.lot, 8, strip=True))
            for s, i in self.instruments.items()
        }
        self.chan_ids = {s: 100 + 64 * n for n, s in enumerate(self.books)}
        self.secrets: dict[str, str] = {}
        self.last_nonce: dict[str, int] = {}
        self.tokens: dict[str, dict[tuple[int, int], str]] = {s: {} for s in self.books}
        self.trade = KrakenOrders(self.context(self.fmt), self.fmt2)
        self.limits = KrakenLimits(self.trade.ctx, self.trade.pairs)

    def add_key(self, key: str, secret_b64: str) -> None:
        self.secrets[key] = secret_b64

    def checksum(self, symbol: str) -> int:
        book = self.books[symbol]
        tok = self.tokens[symbol]
        parts = [tok.get(pq) or self._token(symbol, pq) for pq in book.asks.top(10)]
        parts += [tok.get(pq) or self._token(symbol, pq) for pq in book.bids.top(10)]
        return zlib.crc32("".join(parts).encode())

    def _token(self, symbol: str, pq: tuple[int, int]) -> str:
        # A level's checksum text repeats from message to message: build it once.
        fp, fq = self.fmt[symbol]
        tok = self.tokens[symbol]
        if len(tok) > 100_000:
            tok.clear()
        s = tok[pq] = _digits(fp(pq[0])) + _digits(fq(pq[1]))
        return s

    # WebSocket ---------------------------------------------------------------------------------

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        if conn.path in ("/", "/v2", "/v2/", "/auth/v2"):
            return None
        return 404, b"not found"

    def on_open(self, conn: Conn) -> None:
        conn.state["v1"] = conn.path == "/"
        if conn.state["v1"]:
            conn.send_text(
                orjson.dumps(
                    {"connectionID": conn.id, "event": "systemStatus", "status": "online", "version": "1.9.0"}
                )
            )
        else:
            status = {"version": "2.0.0", "system": "online", "api_version": "v2", "connection_id": conn.id}
            conn.send_text(orjson.dumps({"channel": "status", "type": "update", "data": [status]}))

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        try:
            msg = orjson.loads(data)
            if not isinstance(msg, dict):
                raise TypeError
        except (orjson.JSONDecodeError, TypeError):
            conn.send_text(b'{"error":"Malformed request","success":false}')
            return
        if conn.state["v1"]:
            self._on_v1(conn, msg)
        else:
            self._on_v2(conn, msg)

    def _on_v2(self, conn: Conn, msg: dict[str, Any]) -> None:
        t_in = rfc3339(conn.endpoint.now_ms())
        method, rid = msg.get("method"), msg.get("req_id")

        def reply(body: dict[str, Any]) -> None:
            body["time_in"] = t_in
            body["time_out"] = rfc3339(conn.endpoint.now_ms())
            if rid is not None:
                body["req_id"] = rid
            conn.send_text(orjson.dumps(body))

        if method == "ping":
            reply({"method": "pong"})
            return
        params = msg.get("params")
        if conn.path == "/auth/v2" and (
            method in ("add_order", "cancel_order", "amend_order", "cancel_all")
            or (isinstance(params, dict) and params.get("channel") == "executions")
        ):
            self.trade.on_method(conn, str(method), params if isinstance(params, dict) else {}, reply)
            return
        params = msg.get("params")
        if method not in ("subscribe", "unsubscribe") or not isinstance(params, dict):
            reply({"error": f"Unsupported method {method}", "method": method, "success": False})
            return
        channel = params.get("channel")
        depth = params.get("depth", 10)
        if channel not in ("book", "trade") or (channel == "book" and depth not in DEPTHS):
            reply({"error": "Invalid channel or depth", "method": method, "success": False})
            return
        for symbol in params.get("symbol", []):
            if symbol not in self.books:
                reply({"error": f"Currency pair not supported {symbol}", "method": method, "success": False})
                continue
            result: dict[str, Any] = {"channel": channel, "symbol": symbol}
            topic = f"v2:trade:{symbol}" if channel == "trade" else f"v2:book:{symbol}:{depth}"
            if channel == "book":
                result.update(depth=depth, snapshot=params.get("snapshot", True))
            if method == "unsubscribe":
                conn.endpoint.unsubscribe(conn, topic)
                reply({"method": method, "result": result, "success": True})
                continue
            reply({"method": method, "result": result, "success": True})
            if topic not in conn.topics:
                conn.endpoint.subscribe(conn, topic)
                if channel == "book" and params.get("snapshot", True):
                    self._snapshot_v2(conn, symbol, depth)

    def _v2_levels(self, symbol: str, levels: list[tuple[int, int]]) -> str:
        fp, fq = self.fmt2[symbol]
        return ",".join(f'{{"price":{fp(p)},"qty":{fq(q)}}}' for p, q in levels)

    def _snapshot_v2(self, conn: Conn, symbol: str, depth: int) -> None:
        self.view(symbol, depth, False)
        book = self.books[symbol]
        msg = (
            f'{{"channel":"book","type":"snapshot","data":[{{"symbol":"{symbol}",'
            f'"bids":[{self._v2_levels(symbol, book.bids.top(depth))}],'
            f'"asks":[{self._v2_levels(symbol, book.asks.top(depth))}],'
            f'"checksum":{self.checksum(symbol)},"timestamp":"{rfc3339(conn.endpoint.now_ms())}"}}]}}'
        )
        conn.send_text(msg.encode())

    def _on_v1(self, conn: Conn, msg: dict[str, Any]) -> None:
        event, reqid = msg.get("event"), msg.get("reqid")
        if event == "ping":
            body: dict[str, Any] = {"event": "pong"}
            if reqid is not None:
                body["reqid"] = reqid
            conn.send_text(orjson.dumps(body))
            return
        sub = msg.get("subscription") or {}
        if event not in ("subscribe", "unsubscribe") or sub.get("name") != "book":
            conn.send_text(
                orjson.dumps({"event": "error", "errorMessage": "Unsupported event", "reqid": reqid})
            )
            return
        depth = sub.get("depth", 10)
        for pair in msg.get("pair", []):
            status: dict[str, Any] = {
                "channelName": f"book-{depth}",
                "event": "subscriptionStatus",
                "pair": pair,
                "subscription": {"depth": depth, "name": "book"},
            }
            if pair not in self.books or depth not in DEPTHS:
                status.update(status="error", errorMessage="Currency pair not supported or bad depth")
                conn.send_text(orjson.dumps(status))
                continue
            topic = f"v1:book:{pair}:{depth}"
            status.update(channelID=self.chan_ids[pair], status=event + "d")
            conn.send_text(orjson.dumps(status))
            if event == "unsubscribe":
                conn.endpoint.unsubscribe(conn, topic)
            elif topic not in conn.topics:
                conn.endpoint.subscribe(conn, topic)
                self._snapshot_v1(conn, pair, depth)

    def _v1_levels(self, symbol: str, levels: list[tuple[int, int]], ts: str) -> list[list[str]]:
        fp, fq = self.fmt[symbol]
        return [[fp(p), fq(q), ts] for p, q in levels]

    def _snapshot_v1(self, conn: Conn, pair: str, depth: int) -> None:
        self.view(pair, depth, False)
        book = self.books[pair]
        ts = f"{conn.endpoint.now_ms() / 1000:.6f}"
        body = {
            "as": self._v1_levels(pair, book.asks.top(depth), ts),
            "bs": self._v1_levels(pair, book.bids.top(depth), ts),
        }
        conn.send_text(orjson.dumps([self.chan_ids[pair], body, f"book-{depth}", pair]))

    # publishing --------------------------------------------------------------------------------

    def on_step(self, symbol: str, step: Step) -> None:
        cs: int | None = None
        live = self.live
        for (depth, _), view in self.views[symbol].items():
            bids, asks = view.diff(step)
            if not bids and not asks:
                continue
            view.seq = step.last_id
            t2, t1 = f"v2:book:{symbol}:{depth}", f"v1:book:{symbol}:{depth}"
            if t2 not in live and t1 not in live:
                continue
            if cs is None:
                cs = self.checksum(symbol)
            for ep, subs in [*self.subscribers(t2), *self.subscribers(t1)]:
                fault = ep.take_book_fault(symbol) if ep.book_faults else None
                if fault == "gap":
                    continue
                c_sum = cs ^ 1 if fault == "corrupt" else cs
                m2 = m1 = b""
                for c in subs:
                    if c.state["v1"]:
                        m1 = m1 or self._update_v1(ep, symbol, depth, bids, asks, c_sum)
                        c.send_text(m1)
                    else:
                        m2 = m2 or self._update_v2(ep, symbol, bids, asks, c_sum)
                        c.send_text(m2)
        if step.trades and f"v2:trade:{symbol}" in live:
            fp, fq = self.fmt2[symbol]
            for ep, subs in self.subscribers(f"v2:trade:{symbol}"):
                ts = rfc3339(ep.now_ms())
                data = ",".join(
                    f'{{"symbol":"{symbol}","side":"{"sell" if t.buyer_maker else "buy"}",'
                    f'"price":{fp(t.price)},"qty":{fq(t.qty)},"ord_type":"market","trade_id":{t.id},"timestamp":"{ts}"}}'
                    for t in step.trades
                )
                msg = f'{{"channel":"trade","type":"update","data":[{data}]}}'.encode()
                for c in subs:
                    c.send_text(msg)

    def _update_v2(self, ep: VenueServer, symbol: str, bids: Any, asks: Any, cs: int) -> bytes:
        return (
            f'{{"channel":"book","type":"update","data":[{{"symbol":"{symbol}",'
            f'"bids":[{self._v2_levels(symbol, bids)}],"asks":[{self._v2_levels(symbol, asks)}],'
            f'"checksum":{cs},"timestamp":"{rfc3339(ep.now_ms())}"}}]}}'
        ).encode()

    def _update_v1(self, ep: VenueServer, pair: str, depth: int, bids: Any, asks: Any, cs: int) -> bytes:
        ts = f"{ep.now_ms() / 1000:.6f}"
        parts: list[Any] = [self.chan_ids[pair]]
        if asks:
            parts.append({"a": self._v1_levels(pair, asks, ts)})
        if bids:
            parts.append({"b": self._v1_levels(pair, bids, ts)})
        parts[-1]["c"] = str(cs)
        parts += [f"book-{depth}", pair]
        return orjson.dumps(parts)

    def on_timer(self, ep: VenueServer, now: float) -> None:
        self.trade.dead_man.expire()  # CancelAllOrdersAfter
        every = self.interval("heartbeat")
        for c in list(ep.conns.values()):
            if c.topics and now - c.last_tx >= every and now - c.state.get("hb", 0.0) >= every:
                c.state["hb"] = now
                c.send_text(b'{"event":"heartbeat"}' if c.state["v1"] else b'{"channel":"heartbeat"}')
                c.flush()

    # REST --------------------------------------------------------------------------------------

    async def http(self, ep: VenueServer, req: Request) -> Response:
        if req.method == "GET" and req.path == "/0/public/Time":
            ms = ep.now_ms()
            return json_response({"error": [], "result": {"unixtime": ms // 1000, "rfc1123": rfc3339(ms)}})
        if req.method == "GET" and req.path == "/0/public/AssetPairs":
            # Instrument rules and the precisions a v2 client formats book numbers with.
            names = self.trade.pairs
            wanted = [names.get(p, "") for p in req.query.get("pair", "").split(",") if p]
            if "" in wanted:
                return json_response({"error": ["EQuery:Unknown asset pair"]})
            result = {
                rest_names(p)[0]: asset_pair(
                    p, self.instruments[p], p in self.status, self.grids.listed(p, ep.now_ms())
                )
                for p in wanted or list(self.instruments)
            }
            return json_response({"error": [], "result": result})
        if req.method == "GET" and req.path == "/0/public/Depth":
            q = req.query
            pair = q.get("pair", "")
            if pair not in self.books:
                return json_response({"error": ["EQuery:Unknown asset pair"]})
            count = int(q["count"]) if q.get("count", "").isdigit() else 100
            book, (fp, fq) = self.books[pair], self.fmt[pair]
            t = ep.now_ms() // 1000
            side = {
                "asks": [[fp(p), fq(v), t] for p, v in book.asks.top(count)],
                "bids": [[fp(p), fq(v), t] for p, v in book.bids.top(count)],
            }
            return json_response({"error": [], "result": {pair: side}})
        if req.method == "POST" and req.path.startswith("/0/private/"):
            denied = self._check_private(req)
            if denied:
                return json_response({"error": [denied]})
            method = req.path.rsplit("/", 1)[1]
            over = self.limits.charge(req.headers["api-key"], method, req.form())
            if over is not None:
                return json_response({"error": [over]})
            if method == "GetWebSocketsToken":
                token = secrets.token_urlsafe(24)
                life = self.interval("token_life")
                self.trade.tokens[token] = (req.headers["api-key"], time.monotonic() + life)
                return json_response({"error": [], "result": {"token": token, "expires": round(life)}})
            answer = self.trade.rest(ep, req.headers["api-key"], method, req.form())
            return json_response(answer or {"error": ["EGeneral:Unknown method"]})
        return json_response({"error": ["EGeneral:Unknown method"]}, 404)

    def _check_private(self, req: Request) -> str | None:
        key, sign = req.headers.get("api-key"), req.headers.get("api-sign")
        if not key or key not in self.secrets:
            return "EAPI:Invalid key"
        nonce = req.form().get("nonce", "")
        if not nonce.isdigit():
            return "EAPI:Invalid nonce"
        want = kraken_api_sign(self.secrets[key], req.raw_path, nonce, req.body)
        if not sign or not hmac.compare_digest(want.encode(), sign.encode("utf-8", "replace")):
            return "EAPI:Invalid signature"
        if int(nonce) <= self.last_nonce.get(key, 0):
            return "EAPI:Invalid nonce"
        self.last_nonce[key] = int(nonce)
        return None
