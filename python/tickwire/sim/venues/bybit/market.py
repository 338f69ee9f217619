"""The Bybit venue class: v5 public market data (venues.md §3.2, §3.3), private-socket and REST
signature checks, and the routing of order entry to ``trade.py``.

``/v5/public/{spot,linear,inverse}``: ``{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}``; a book
topic sends a snapshot, then deltas (size ``"0"`` deletes) keeping the client at the top ``depth``
levels; ``u`` is the topic's update id and ``seq`` the cross sequence. Depth 1 sends snapshots only,
re-sent after 3 s without change. ``publicTrade.<symbol>``. ``{"op":"ping"}`` gets the category's pong
shape. REST ``GET /v5/market/orderbook`` answers from the same book. No checksum exists. A private or
trade connection that sent no message (an ``op`` ping or a request; a WebSocket ping frame is not
one) for ``idle_cut`` (10 minutes) is cut, as Bybit does ("without ping-pong or data").
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any, ClassVar

import orjson

from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.venues.base import Venue
from tickwire.sim.venues.bybit import metadata
from tickwire.sim.venues.bybit.auth import check_rest, ws_auth_key
from tickwire.sim.venues.bybit.trade import BybitOrders
from tickwire.sim.ws import Conn

DEPTHS = (1, 50, 200, 1000)
CATEGORIES = ("spot", "linear", "inverse")


class Bybit(Venue):
    shows_status = True  # instruments-info lists Closed; order entry refuses (trade.py)
    # Spot's instruments-info (metadata.py) and order entry (trade.py) follow set_grid: tickSize and
    # basePrecision. Not minOrderQty: spot's is "deprecated, no longer check[ed]" (a minimum is a
    # value there, minOrderAmt).
    sets_grid = True
    grid_params = frozenset({"tick", "lot"})
    name = "bybit"
    can_refuse = True
    # Funded accounts' margin orders: 10x unless the profile says otherwise (venues' common default).
    leverage = Decimal(10)
    ws_paths: ClassVar[dict[str, str]] = {
        **{c: f"/v5/public/{c}" for c in CATEGORIES},
        "private": "/v5/private",
        "trade": "/v5/trade",
    }
    intervals: ClassVar[dict[str, float]] = {
        "level1_resend": 3.0, "rate_window": 1.0, "ip_window": 5.0, "idle_cut": 600.0,
    }  # fmt: skip
    default_instruments = default_instruments(
        [
            ("BTCUSDT", "0.01", "0.000001", "60000", 1_000),
            ("ETHUSDT", "0.01", "0.00001", "3000", 1_000),
        ],
        {  # min_qty, max_qty, min_notional as the venue checks them: its value, not minOrderQty
            "BTCUSDT": ("0", "71.73956243", "1"),
            "ETHUSDT": ("0", "1229.2336343", "1"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fmt = self.formats()
        self.secrets: dict[str, str] = {}
        self.trade = BybitOrders(self.context(self.fmt), self.secrets)
        self.ip_limiters: dict[int, WeightLimiter] = {}
        self.u: dict[tuple[str, int], int] = {}  # per topic update id, 1 after a (simulated) restart
        # (endpoint index, symbol) -> when a level-1 snapshot last went out there.
        self.level1_at: dict[tuple[int, str], float] = {}

    def _levels(self, symbol: str, levels: list[tuple[int, int]]) -> list[list[str]]:
        fp, fq = self.fmt[symbol]
        return [[fp(p), fq(q)] for p, q in levels]

    def add_key(self, key: str, secret: str) -> None:
        self.secrets[key] = secret

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        cat = conn.path.rsplit("/", 1)[-1]
        if conn.path in ("/v5/private", "/v5/trade") or (
            conn.path == f"/v5/public/{cat}" and cat in CATEGORIES
        ):
            return None
        return 404, b"not found"

    def on_open(self, conn: Conn) -> None:
        conn.state["category"] = conn.path.rsplit("/", 1)[-1]
        conn.state["conn_id"] = str(uuid.UUID(int=conn.id))

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        conn.state["last_message"] = time.monotonic()  # what keeps a private or trade socket
        try:
            msg = orjson.loads(data)
            op = msg["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            conn.send_text(orjson.dumps({"success": False, "ret_msg": "error:invalid request", "op": ""}))
            return
        if conn.path == "/v5/trade":
            self.trade.on_message(conn, msg)
            return
        rid = msg.get("req_id")
        spot = conn.state["category"] == "spot"
        base: dict[str, Any] = {"conn_id": conn.state["conn_id"], "op": op}
        if rid is not None and (not spot or op != "ping"):
            base["req_id"] = rid
        if op == "ping" and conn.path == "/v5/private":
            # The private pong (docs/v5/ws/connect): op "pong", the server time in args.
            pong = {"op": "pong", "args": [str(conn.endpoint.now_ms())], "conn_id": conn.state["conn_id"]}
            conn.send_text(orjson.dumps({"req_id": rid, **pong} if rid is not None else pong))
            return
        if op == "ping":
            conn.send_text(orjson.dumps({"success": True, "ret_msg": "pong", **base}))
            return
        if conn.path == "/v5/private":
            self._private(conn, msg, base)
            return
        if op not in ("subscribe", "unsubscribe"):
            conn.send_text(orjson.dumps({"success": False, "ret_msg": f"error:unknown op {op}", **base}))
            return
        args = msg.get("args") or []
        bad = [a for a in args if self._topic(str(a)) is None]
        if bad:
            ret = f"error:handler not found,topic:{bad[0]}"
            conn.send_text(orjson.dumps({"success": False, "ret_msg": ret, **base}))
            return
        ret_msg = op if spot else ""
        conn.send_text(orjson.dumps({"success": True, "ret_msg": ret_msg, **base}))
        for a in args:
            topic = str(a)
            if op == "unsubscribe":
                conn.endpoint.unsubscribe(conn, topic)
            elif topic not in conn.topics:
                conn.endpoint.subscribe(conn, topic)
                t = self._topic(topic)
                if t is not None and t[0] == "orderbook":
                    self._snapshot([conn], topic, t[1], t[2], conn.endpoint)

    def _topic(self, topic: str) -> tuple[str, str, int] | None:
        parts = topic.split(".")
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1].isdigit() and parts[2] in self.books:
            if int(parts[1]) in DEPTHS:
                return "orderbook", parts[2], int(parts[1])
        if len(parts) == 2 and parts[0] == "publicTrade" and parts[1] in self.books:
            return "publicTrade", parts[1], 0
        return None

    def _snapshot(self, conns: Any, topic: str, symbol: str, depth: int, ep: VenueServer) -> None:
        view = self.view(symbol, depth, True)
        book = self.books[symbol]
        u = self.u.setdefault((symbol, depth), 1)
        ts = ep.now_ms()
        data = {
            "s": symbol,
            "b": self._levels(symbol, book.bids.top(depth)),
            "a": self._levels(symbol, book.asks.top(depth)),
            "u": u,
            "seq": view.seq,
        }
        msg = orjson.dumps({"topic": topic, "ts": ts, "type": "snapshot", "data": data, "cts": ts})
        for c in conns:
            c.send_text(msg)

    def on_step(self, symbol: str, step: Step) -> None:
        live = self.live
        for (depth, _), view in self.views[symbol].items():
            bids, asks = view.diff(step)
            if not bids and not asks:
                continue
            view.seq = step.last_id
            u = self.u[(symbol, depth)] = self.u.get((symbol, depth), 0) + 1
            topic = f"orderbook.{depth}.{symbol}"
            if topic not in live:
                continue
            for ep, subs in self.subscribers(topic):
                if depth == 1:
                    self._snapshot(subs, topic, symbol, 1, ep)
                    self.level1_at[(ep.index, symbol)] = time.monotonic()
                    continue
                fault = ep.take_book_fault(symbol) if ep.book_faults else None
                if fault == "gap":
                    continue
                ts = ep.now_ms()
                b, a = self._levels(symbol, bids), self._levels(symbol, asks)
                if fault == "bad_level":  # the update stands here; its frame is one a book refuses
                    side = b or a
                    side[0] = [side[0][0], "-1"]
                data = {"s": symbol, "b": b, "a": a, "u": u, "seq": step.last_id}
                msg = orjson.dumps({"topic": topic, "type": "delta", "ts": ts, "data": data, "cts": ts})
                for c in subs:
                    c.send_text(msg)
        topic = f"publicTrade.{symbol}"
        if step.trades and topic in live:
            fp, fq = self.fmt[symbol]
            for ep, subs in self.subscribers(topic):
                ts = ep.now_ms()
                trades = [
                    {
                        "T": ts,
                        "s": symbol,
                        "S": "Sell" if t.buyer_maker else "Buy",
                        "v": fq(t.qty),
                        "p": fp(t.price),
                        "i": str(t.id),
                        "BT": False,
                    }
                    for t in step.trades
                ]
                msg = orjson.dumps({"topic": topic, "type": "snapshot", "ts": ts, "data": trades})
                for c in subs:
                    c.send_text(msg)

    def on_timer(self, ep: VenueServer, now: float) -> None:
        idle_cut = self.interval("idle_cut")
        for c in list(ep.conns.values()):
            if c.path in ("/v5/private", "/v5/trade"):
                if now - c.state.get("last_message", c.opened_at) > idle_cut:
                    c.abort()
        resend = self.interval("level1_resend")
        for symbol in self.books:
            topic = f"orderbook.1.{symbol}"
            subs = ep.topics.get(topic)
            if not subs:
                continue
            if now - self.level1_at.get((ep.index, symbol), 0.0) >= resend:
                self.level1_at[(ep.index, symbol)] = now
                self._snapshot(subs, topic, symbol, 1, ep)

    async def http(self, ep: VenueServer, req: Request) -> Response:
        # Per IP (one endpoint here): 600 requests per 5 s, then HTTP 403 "access too frequent".
        ip = self.ip_limiters.get(ep.index)
        if ip is None:
            n = int(self.config.profile.get("ip_rate_limit", 600))
            ip = self.ip_limiters[ep.index] = WeightLimiter(n, self.interval("ip_window"))
        if ip.charge(time.monotonic())[0] != "ok":
            return Response(403, b"access too frequent", content_type="text/plain")
        if req.path.startswith(("/v5/account/", "/v5/order/", "/v5/execution/")):
            denied = check_rest(self.secrets, ep, req)
            if denied is not None:
                return denied
            key = req.headers["x-bapi-api-key"]
            trading = req.path.startswith("/v5/order/") and req.method == "POST"
            per_s = int(
                self.config.profile.get(
                    "order_rate_limit" if trading else "rest_rate_limit", 10 if trading else 50
                )
            )
            if (req.method, req.path) == ("POST", "/v5/order/create-batch"):  # counted per order
                batch, limits = self.trade.create_batch(ep, req, key, per_s)
                return json_response({**batch, "time": ep.now_ms()}, headers=list(limits.items()))
            ok, limits = self.trade.limit(key, req.path, ep.now_ms(), per_s)
            headers = list(limits.items())
            if not ok:
                body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": ep.now_ms()}
                return json_response(body, headers=headers)
            answer = self.trade.rest(ep, req, key)
            if answer is not None:
                return json_response({**answer, "retExtInfo": {}, "time": ep.now_ms()}, headers=headers)
            if (req.method, req.path) == ("GET", "/v5/account/wallet-balance"):
                held = self.engine.ledger.holdings(req.headers["x-bapi-api-key"])
                coins = [
                    {"coin": a, "walletBalance": str(f + lk), "locked": str(lk), "equity": str(f + lk)}
                    for a, f, lk in held
                ]
                wallet = {"list": [{"accountType": "UNIFIED", "totalEquity": "0", "coin": coins}]}
                body = {"retCode": 0, "retMsg": "OK", "result": wallet, "time": ep.now_ms()}
                return json_response(body, headers=headers)
        if (req.method, req.path) == ("GET", "/v5/market/time"):
            ms = ep.now_ms()
            now = {"timeSecond": str(ms // 1000), "timeNano": str(ms * 1_000_000)}
            return json_response({"retCode": 0, "retMsg": "OK", "result": now, "time": ms})
        if (req.method, req.path) == ("GET", "/v5/market/instruments-info"):
            grid = {s: self.grids.listed(s, ep.now_ms()) for s in self.instruments}
            code, text, listed = metadata.instruments(grid, req.query, self.status)
            return json_response({"retCode": code, "retMsg": text, "result": listed, "time": ep.now_ms()})
        if (req.method, req.path) != ("GET", "/v5/market/orderbook"):
            return json_response({"retCode": 10404, "retMsg": "not found"}, 404)
        q = req.query
        symbol = q.get("symbol", "")
        if symbol not in self.books:
            return json_response({"retCode": 10001, "retMsg": "params error: symbol invalid", "result": {}})
        limit = min(200, max(1, int(q.get("limit", "1")) if q.get("limit", "1").isdigit() else 1))
        book = self.books[symbol]
        ts = ep.now_ms()
        result: dict[str, Any] = {
            "s": symbol,
            "b": self._levels(symbol, book.bids.top(limit)),
            "a": self._levels(symbol, book.asks.top(limit)),
            "ts": ts,
            "u": book.update_id,
            "seq": book.update_id,
            "cts": ts,
        }
        return json_response({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": ts})

    # auth --------------------------------------------------------------------------------------

    def _private(self, conn: Conn, msg: dict[str, Any], base: dict[str, Any]) -> None:
        if msg["op"] == "subscribe" and conn.state.get("auth"):
            # Of the private topics "order" and "execution" are simulated.
            refused = self.trade.subscribe(conn, msg.get("args"))
            conn.send_text(orjson.dumps({"success": refused is None, "ret_msg": refused or "", **base}))
            return
        if msg["op"] != "auth":
            conn.send_text(orjson.dumps({"success": False, "ret_msg": "Request not authorized", **base}))
            return
        key = ws_auth_key(self.secrets, msg.get("args") or [], conn.endpoint.now_ms())
        if key is not None:
            conn.state["auth"] = True
            conn.state["api_key"] = key
            conn.send_text(orjson.dumps({"success": True, "ret_msg": "", **base}))
        else:
            conn.send_text(orjson.dumps({"success": False, "ret_msg": "Params Error", **base}))
