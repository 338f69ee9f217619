"""The Binance spot venue class — market data (venues.md §1.4), the request limits, and the routing of
WebSocket messages and REST calls to the order-entry parts — which USDⓈ-M's (``market_usdm.py``)
specializes (§1.6).

Streams: ``/ws/<stream>``, ``/stream?streams=a/b`` (wrapped ``{"stream","data"}``) and live
SUBSCRIBE/UNSUBSCRIBE; ``<sym>@depth[@100ms|@1000ms]`` diffs with U/u (and ``pu`` on futures),
``@bookTicker``, ``@trade``. Every step of the book process is one diff event, so ``U`` of an event is
always ``u + 1`` of the previous one on a healthy stream. REST ``/api/v3/depth`` answers from the same
book at the same update id, so the official sync algorithm reconstructs the book exactly.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import orjson

from tickwire.sim.auth import ApiKey
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import Fmt, Instrument, Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.venues.base import Venue
from tickwire.sim.venues.binance import messages
from tickwire.sim.venues.binance.auth import check_signed, err
from tickwire.sim.venues.binance.framing import send_stream
from tickwire.sim.venues.binance.futures import FuturesOrders
from tickwire.sim.venues.binance.metadata import ExchangeInfo
from tickwire.sim.venues.binance.sbe import SbeStreams
from tickwire.sim.venues.binance.trade import BinanceOrders, interval
from tickwire.sim.venues.binance.userdata import ListenKeys
from tickwire.sim.venues.binance.wsapi import FUTURES_METHODS, WsApi
from tickwire.sim.ws import Conn

DEPTH_SUFFIXES = ("@depth", "@depth@100ms", "@depth@1000ms", "@depth@250ms", "@depth@500ms")
PARTIAL_LEVELS = (5, 10, 20)
WS_API_CONNECT_WEIGHT = 2  # per WS API connection (spot)


class BinanceSpot(Venue):
    shows_status = True
    sets_grid = True  # its order entry (trade.py) and exchangeInfo (metadata.py) follow set_grid
    name = "binance"
    # /sbe/...: the SBE stream host (stream-sbe.binance.com), served beside the JSON one so both
    # carry the same books and the REST snapshot syncs either.
    ws_paths: ClassVar[dict[str, str]] = {
        "ws": "/ws",
        "stream": "/stream",
        "sbe_ws": "/sbe/ws",
        "sbe_stream": "/sbe/stream",
        "ws_api": "/ws-api/v3",
    }
    intervals: ClassVar[dict[str, float]] = {
        "ping_interval": 20.0,
        "pong_timeout": 60.0,
        "partial_depth": 1.0,  # <symbol>@depth<N> without a speed suffix
        "lifetime": 86400.0,  # a connection is valid for 24 h
        "weight_window": 60.0,
        "ban": 120.0,  # the first 418 ban ("from 2 minutes to 3 days")
        "conn_window": 300.0,  # 300 connection attempts per 5 minutes per IP
        "listen_key_ttl": 3600.0,
    }
    default_instruments = default_instruments(
        [
            ("BTCUSDT", "0.01", "0.00001", "60000", 100),
            ("ETHUSDT", "0.01", "0.0001", "3000", 100),
            ("BNBBTC", "0.000001", "0.001", "0.0095", 10),
            # The symbol of Binance's published signing example (venues.md §8).
            ("LTCBTC", "0.000001", "0.001", "0.0015", 100),
        ],
        {  # min_qty, max_qty, min_notional as the venue lists them
            "BTCUSDT": ("0.00001", "9000", "5"),
            "ETHUSDT": ("0.0001", "9000", "5"),
            "BNBBTC": ("0.001", "100000", "0.0001"),
            "LTCBTC": ("0.001", "100000", "0.0001"),
        },
    )
    futures = False
    rest_prefix = "/api/v3"
    ws_api_path = "/ws-api/v3"
    max_incoming_per_s = 5
    depth_limits: ClassVar[tuple[int, ...]] = ()  # spot: any 1..5000
    default_limit = 100
    max_limit = 5000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fmt: dict[str, tuple[Fmt, Fmt]] = {sym: self._formats(i) for sym, i in self.instruments.items()}
        self.keys: dict[str, ApiKey] = {}
        self.limiters: dict[int, WeightLimiter] = {}  # per endpoint: limits are per IP
        self.conn_limiters: dict[int, WeightLimiter] = {}
        self.lifetime_cuts = 0  # connections closed for their 24 h lifetime
        ctx = self.context(self.fmt)
        self.orders = BinanceOrders(ctx)
        self.futures_orders = FuturesOrders(ctx, self.orders.count_order, self.orders.limit_refusals)
        if self.futures:
            fut = self.futures_orders
            self.wsapi = WsApi(ctx, self.keys, self.limiter, fut.handle, FUTURES_METHODS)
        else:
            self.wsapi = WsApi(ctx, self.keys, self.limiter, self.orders.signed)
        # Spot listenKeys were retired on 2026-02-20 (venues.md §9): futures only.
        fut = self.futures_orders
        self.listen_keys = (
            ListenKeys(ctx, self.keys, "/fapi/v1/listenKey", fut.trade_update, fut.account_update)
            if self.futures
            else None
        )
        self.sbe = SbeStreams(ctx)
        self.exchange_info = ExchangeInfo(ctx, self.futures, self.orders.order_limits())
        self.last_u: dict[str, int] = {s: b.update_id for s, b in self.books.items()}
        self.last_bbo: dict[str, tuple[int, int, int, int]] = {}
        self.partial_due: dict[tuple[int, str], float] = {}
        self.streams = {
            sym: (
                tuple(sym.lower() + x for x in DEPTH_SUFFIXES),
                sym.lower() + "@trade",
                sym.lower() + "@bookTicker",
            )
            for sym in self.books
        }

    def _formats(self, inst: Instrument) -> tuple[Fmt, Fmt]:
        # Spot prints 8 decimals everywhere; futures prints the instrument's own precision.
        return Fmt(inst.tick, 8), Fmt(inst.lot, 8)

    def add_key(self, key: ApiKey) -> None:
        self.keys[key.key] = key

    def remove_key(self, key: str) -> None:
        """The key becomes invalid (deleted, its IP list changed): refused from now on, and every WS
        API session logged on with it revoked (venues.md §1.3, ``WsApi.revoke``)."""
        self.keys.pop(key, None)
        self.wsapi.revoke(key, self.endpoints)

    def register(self, args: dict[str, Any]) -> None:
        """``{"key", "secret"}`` (HMAC) or ``{"key", "public_key": PEM}`` (Ed25519 / RSA)."""
        secret, pem = args.get("secret"), args.get("public_key")
        if (secret is None) == (pem is None):
            raise ValueError("give exactly one of secret (HMAC) or public_key (PEM)")
        self.add_key(
            ApiKey(
                str(args["key"]),
                secret=None if secret is None else str(secret).encode(),
                public_key=None if pem is None else str(pem).encode(),
            )
        )

    # WebSocket ---------------------------------------------------------------------------------

    def _route(self, path: str) -> str:
        for prefix in ("/public", "/market", "/private"):
            if self.futures and path.startswith(prefix + "/"):
                return path[len(prefix) :]
        return path

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        lim = self.conn_limiters.get(conn.endpoint.index)
        if lim is None:
            n = int(self.config.profile.get("conn_limit", 300))
            lim = self.conn_limiters[conn.endpoint.index] = WeightLimiter(n, self.interval("conn_window"))
        if lim.charge(time.monotonic())[0] != "ok":
            msg = f"Too many new connections; current limit is {lim.limit} per 5 minutes."
            return 429, orjson.dumps({"code": -1003, "msg": msg})
        path = self._route(conn.path)
        if path.startswith("/sbe/") and not self.futures:
            # SBE streams need an Ed25519 API key in the upgrade; no signature or timestamp.
            key = self.keys.get(conn.headers.get("x-mbx-apikey", ""))
            if key is None or key.kind != "ed25519":
                return 401, b'{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}'
            path = path[4:]
        if path == "/ws" or path.startswith("/ws/") or path == "/stream":
            return None
        if path == self.ws_api_path:
            if not self.futures:  # "Connecting costs 2 weight" (spot WS API, venues.md §1.3)
                ep = conn.endpoint
                verdict, _ = self.limiter(ep).charge(ep.now_ms() / 1000, WS_API_CONNECT_WEIGHT)
                if verdict != "ok":
                    return 429, b'{"code":-1003,"msg":"Too much request weight used."}'
            return None
        return 404, b'{"code":-1,"msg":"no such path"}'

    def on_open(self, conn: Conn) -> None:
        path = self._route(conn.path)
        conn.state["rx"] = []
        if path == self.ws_api_path:
            conn.state["wsapi"] = True
            conn.state["connected_since"] = conn.endpoint.now_ms()
            return
        sbe = path.startswith("/sbe/")
        conn.state["prefix"] = "sbe:" if sbe else ""
        if sbe:
            path = path[4:]
        ep = conn.endpoint
        if path == "/stream":
            conn.combined = not sbe  # SBE events are never wrapped
            for s in filter(None, conn.query.get("streams", "").split("/")):
                ep.subscribe(conn, conn.state["prefix"] + s)
        elif self.futures and conn.path.startswith("/private/"):
            # The user data stream since the split of 2026-04-23 (``userdata.py``): the key and the
            # events it carries as query parameters; the path form opens and delivers nothing.
            key = conn.query.get("listenKey", "") if path == "/ws" else ""
            if key:
                conn.state["events"] = frozenset(filter(None, conn.query.get("events", "").split("/")))
                ep.subscribe(conn, key)
        elif path.startswith("/ws/"):
            for s in filter(None, path[4:].split("/")):
                ep.subscribe(conn, conn.state["prefix"] + s)

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        if conn.state.get("wsapi"):
            self.wsapi.on_message(conn, data)
            return
        # Incoming-message limit: ping/pong/JSON all count; over it the connection is cut.
        now = time.monotonic()
        rx: list[float] = conn.state["rx"]
        rx.append(now)
        while rx and now - rx[0] > 1.0:
            rx.pop(0)
        if len(rx) > self.max_incoming_per_s:
            conn.close(reason=b"too many requests")
            return
        try:
            msg = orjson.loads(data)
            method, rid = msg["method"], msg.get("id")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            conn.send_text(b'{"error":{"code":3,"msg":"Invalid JSON: malformed request"}}')
            return
        ep = conn.endpoint
        params = msg.get("params", [])
        prefix: str = conn.state["prefix"]
        if method == "SUBSCRIBE" and isinstance(params, list):
            for s in params:
                ep.subscribe(conn, prefix + str(s))
            conn.send_text(orjson.dumps({"result": None, "id": rid}))
        elif method == "UNSUBSCRIBE" and isinstance(params, list):
            for s in params:
                ep.unsubscribe(conn, prefix + str(s))
            conn.send_text(orjson.dumps({"result": None, "id": rid}))
        elif method == "LIST_SUBSCRIPTIONS":
            names = sorted(t[len(prefix) :] for t in conn.topics)
            conn.send_text(orjson.dumps({"result": names, "id": rid}))
        else:
            conn.send_text(
                orjson.dumps({"error": {"code": 2, "msg": f"Invalid request: {method}"}, "id": rid})
            )

    def on_timer(self, ep: VenueServer, now: float) -> None:
        self.ws_ping_cycle(ep, now, self.interval("ping_interval"), self.interval("pong_timeout"))
        if self.listen_keys is not None:
            self.listen_keys.expire(ep, now)
        self.futures_orders.dead_man.expire()  # USDⓈ-M countdownCancelAll (none armed on spot)
        lifetime = self.interval("lifetime")
        for c in list(ep.conns.values()):
            if now - c.opened_at > lifetime:
                self.lifetime_cuts += 1
                c.close()
        if not ep.stalled:
            self._partial_depth(ep, now)

    def _partial_depth(self, ep: VenueServer, now: float) -> None:
        """``<symbol>@depth<5|10|20>[@100ms]``: periodic top-N snapshots."""
        every = self.interval("partial_depth")
        for stream, subs in list(ep.topics.items()):
            name, _, speed = stream.partition("@depth")
            levels, _, fast = speed.partition("@")
            speeds = ("", "100ms", "250ms", "500ms", "1000ms")
            if not levels.isdigit() or int(levels) not in PARTIAL_LEVELS or fast not in speeds:
                continue
            symbol = name.upper()
            if symbol not in self.books:
                continue
            key = (ep.index, stream)
            if now < self.partial_due.get(key, 0.0):
                continue
            period = int(fast[:-2]) / 1000 * self.config.time_scale if fast else every
            self.partial_due[key] = now + period
            book = self.books[symbol]
            n = int(levels)
            top = (book.bids.top(n), book.asks.top(n))
            args = (
                self.fmt[symbol],
                self.futures,
                symbol,
                book.update_id,
                top,
                ep.now_ms(),
                self.last_u[symbol],
            )
            send_stream(subs, stream, orjson.dumps(messages.partial_depth(*args)))

    def send_server_shutdown(self, conn: Conn) -> None:
        """``serverShutdown`` in the form of the connection's surface (binance-spot-api-docs: the WS
        API's since 2025, market streams' since 2026-05-08, SBE streams' — a text frame — since
        2026-06-09; no fixed lead time any more)."""
        ev = {"e": "serverShutdown", "E": conn.endpoint.now_ms()}
        if conn.state.get("wsapi"):
            msg: dict[str, Any] = {"event": ev}
        elif conn.combined:
            msg = {"stream": "!serverShutdown", "data": ev}
        else:
            msg = ev  # a raw stream, JSON or SBE
        conn.send_text(orjson.dumps(msg))

    # publishing --------------------------------------------------------------------------------

    def depth_event(self, symbol: str, step: Step, now_ms: int) -> bytes:
        return messages.depth_event(self.fmt[symbol], self.futures, symbol, step, now_ms, self.last_u[symbol])

    def on_step(self, symbol: str, step: Step) -> None:
        live = self.live
        depth_streams, trade_stream, bbo_stream = self.streams[symbol]
        data: bytes | None = None
        for stream in depth_streams:
            if stream not in live:
                continue
            for ep, subs in self.subscribers(stream):
                if ep.book_faults and ep.take_book_fault(symbol) == "gap":
                    continue
                if data is None:
                    data = self.depth_event(symbol, step, ep.now_ms())
                send_stream(subs, stream, data)
        self.last_u[symbol] = step.last_id
        if step.trades and trade_stream in live:
            self._trades(symbol, step, trade_stream)
        if bbo_stream in live:
            self._book_ticker(symbol, step, bbo_stream)
        if self.sbe_live and not self.futures:
            self.sbe.publish_step(symbol, step)

    @property
    def sbe_live(self) -> bool:
        return any(t.startswith("sbe:") for t in self.live)

    def _trades(self, symbol: str, step: Step, stream: str) -> None:
        fmt = self.fmt[symbol]
        for ep, subs in self.subscribers(stream):
            t_ms = ep.now_ms()
            for t in step.trades:
                send_stream(subs, stream, messages.trade_event(fmt, self.futures, symbol, t, t_ms))

    def _book_ticker(self, symbol: str, step: Step, stream: str) -> None:
        book = self.books[symbol]
        bb, ba = book.bids.best(), book.asks.best()
        if bb is None or ba is None:
            return
        bbo = (bb, book.bids.levels[bb], ba, book.asks.levels[ba])
        if bbo == self.last_bbo.get(symbol):
            return
        self.last_bbo[symbol] = bbo
        fmt = self.fmt[symbol]
        for ep, subs in self.subscribers(stream):
            msg = messages.book_ticker(fmt, self.futures, symbol, step.last_id, bbo, ep.now_ms())
            send_stream(subs, stream, msg)

    # REST --------------------------------------------------------------------------------------

    def _weight(self, req: Request) -> int:
        """REQUEST_WEIGHT of a call, as the docs list it (depth by limit, account 20, others 1)."""
        if req.path.endswith("/depth"):
            q = req.query.get("limit", str(self.default_limit))
            n = int(q) if q.isdigit() else self.default_limit
            if self.futures:
                return 2 if n <= 50 else 5 if n <= 100 else 10 if n <= 500 else 20
            return 5 if n <= 100 else 25 if n <= 500 else 50 if n <= 1000 else 250
        if req.path.endswith("/myTrades") and not self.futures:  # CHANGELOG 2025-04-07: 5 by orderId
            return 5 if req.query.get("orderId") else 20
        return 20 if req.path.endswith("/account") else 1

    def limiter(self, ep: VenueServer) -> WeightLimiter:
        """The endpoint's request-weight budget (per IP), shared by REST and the WS API; charged on
        the venue's clock (``ep.now_ms``), whose minutes its windows are aligned to, as Binance's
        reset on its own minute."""
        lim = self.limiters.get(ep.index)
        if lim is None:
            limit = int(self.config.profile.get("weight_limit", 6000 if not self.futures else 2400))
            lim = self.limiters[ep.index] = WeightLimiter(
                limit, self.interval("weight_window"), self.interval("ban"), aligned=True
            )
        return lim

    async def http(self, ep: VenueServer, req: Request) -> Response:
        lim = self.limiter(ep)
        verdict, retry = lim.charge(ep.now_ms() / 1000, self._weight(req))
        if verdict == "ok":
            resp = await self._http(ep, req)
        elif verdict == "warn":
            msg = f"Too many requests; current limit of IP is {lim.limit} request weight per minute."
            resp = err(-1003, msg, 429)
        else:
            until = ep.now_ms() + int(retry * 1000)
            resp = err(-1003, f"Way too many requests; IP banned until {until}.", 418)
        if verdict != "ok":
            resp.headers.append(("Retry-After", str(max(1, math.ceil(retry)))))
        resp.headers.append((f"X-MBX-USED-WEIGHT-{interval(lim.window_s)[2]}", str(lim.used)))
        return resp

    async def _http(self, ep: VenueServer, req: Request) -> Response:
        p = self.rest_prefix
        route = (req.method, req.path)
        if route == ("GET", p + "/depth"):
            return self._depth(ep, req)
        if route == ("GET", p + "/time"):
            return json_response({"serverTime": ep.now_ms()})
        if route == ("GET", p + "/ping"):
            return json_response({})
        if route == ("GET", p + "/exchangeInfo"):
            return self.exchange_info.route(ep, req, self.limiter(ep))
        keyed = self.listen_keys.route(ep, req) if self.listen_keys is not None else None
        if keyed is not None:
            return keyed
        if req.path == p + "/userDataStream":
            # Retired spot listenKeys; the venue documents no answer, this is the simulator's (README).
            return err(-1020, "This operation is not supported.", 410)
        signed = (
            ("GET", p + "/account"),
            ("POST", p + "/order/test"),
            ("POST", p + "/order"),
            ("GET", p + "/order"),
            ("DELETE", p + "/order"),
            ("PUT", p + "/order/amend/keepPriority"),
            ("GET", p + "/openOrders"),
            ("DELETE", p + "/openOrders"),
            ("GET", p + "/allOrders"),
            ("GET", p + "/myTrades"),
        )
        if route in signed or (self.futures and req.path.startswith(("/fapi/v1/", "/fapi/v2/"))):
            denied = check_signed(self.keys, ep, req)
            if denied is not None:
                return denied
            account = self.keys[req.headers["x-mbx-apikey"]].owner
            params = dict(req.query)
            params.update(req.form())
            if self.futures:
                return self.futures_orders.handle(ep, req, account, params)
            return self.orders.signed(ep, req, account, params)
        return err(-1000, f"no route {req.method} {req.path}", 404)

    def _depth(self, ep: VenueServer, req: Request) -> Response:
        q = req.query
        symbol = q.get("symbol", "")
        if symbol not in self.books:
            return err(-1121, "Invalid symbol.")
        try:
            limit = int(q.get("limit", self.default_limit))
        except ValueError:
            return err(-1100, "Illegal characters found in parameter 'limit'.")
        if limit < 1 or limit > self.max_limit or (self.depth_limits and limit not in self.depth_limits):
            return err(-1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'.")
        book = self.books[symbol]
        fp, fq = self.fmt[symbol]
        body: dict[str, Any] = {"lastUpdateId": book.update_id}
        if self.futures:
            body["E"] = body["T"] = ep.now_ms()
        body["bids"] = [[fp(p), fq(s)] for p, s in book.bids.top(limit)]
        body["asks"] = [[fp(p), fq(s)] for p, s in book.asks.top(limit)]
        return json_response(body)
