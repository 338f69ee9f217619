"""The Coinbase venue class: Advanced Trade market data WebSocket (venues.md §5.2), JWT checks and
rate limits, and the routing of orders and the ``user`` channel to ``trade.py``.

One channel per subscribe message: ``{"type":"subscribe","product_ids":[...],"channel":"level2"}``
(``jwt`` accepted and not required for public channels). ``level2`` messages arrive on channel
``l2_data`` as a snapshot then updates with absolute ``new_quantity`` (``"0"`` removes); ``heartbeats``
once a second with ``heartbeat_counter``; ``market_trades``. Every message carries ``sequence_num``,
counted per connection here (the docs leave it open), so a lost message shows as a gap. A client that
has not subscribed within 5 s is disconnected. A ``-USDC`` product (but ``USDT-USDC`` and
``EURC-USDC``) is served as its ``-USD`` one on the public channels: its messages name the ``-USD``
product (Coinbase's WebSocket channels page; read live by others in 2026).

The ``user`` channel (``wss://advanced-trade-ws-user.coinbase.com``, served here on ``/user`` and on
the market path alike) needs a valid JWT: a ``snapshot`` of the key's open orders, then an ``update``
for every order event (``trade.py``).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, ClassVar

import orjson

from tickwire.sim.auth import verify_jwt
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import BID, Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.venues.base import Venue
from tickwire.sim.venues.coinbase import metadata
from tickwire.sim.venues.coinbase.metadata import ts
from tickwire.sim.venues.coinbase.trade import CoinbaseOrders
from tickwire.sim.ws import Conn

CHANNELS = ("level2", "heartbeats", "market_trades", "user")


def _served_as(product: str) -> str:
    if isinstance(product, str) and product.endswith("-USDC") and product not in ("USDT-USDC", "EURC-USDC"):
        return product[: -len("USDC")] + "USD"
    return product


__all__ = ["Coinbase", "ts"]


class Coinbase(Venue):
    shows_status = True  # products carry trading_disabled/cancel_only; order entry refuses (trade.py)
    sets_grid = True  # products (metadata.py) and order entry (trade.py) follow set_grid
    name = "coinbase"
    ws_paths: ClassVar[dict[str, str]] = {"market": "/", "user": "/user"}
    intervals: ClassVar[dict[str, float]] = {"subscribe_within": 5.0, "heartbeat": 1.0, "rate_window": 1.0}
    default_instruments = default_instruments(
        [
            ("BTC-USD", "0.01", "0.00000001", "60000", 100_000),
            ("ETH-USD", "0.01", "0.00000001", "3000", 1_000_000),
            ("BTC-USDT", "0.01", "0.00000001", "60000", 100_000),
        ],
        {  # min_qty, max_qty, min_notional as the venue lists them
            "BTC-USD": ("0.00000001", "3400", "1"),
            "BTC-USDT": ("0.00000001", "3400", "1"),
            "ETH-USD": ("0.00000001", "42000", "1"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fmt = self.formats()
        self.keys: dict[str, bytes] = {}
        self.orders = CoinbaseOrders(self.context(self.fmt), self.frame)
        self.limiters: dict[str, WeightLimiter] = {}
        self.limit_refusals: Counter[tuple[str, str]] = Counter()  # (key, "rest") -> refused
        # Unauthenticated market-data messages refused past ``max_incoming_per_s`` (``on_message``).
        self.ws_rate_refused = 0

    # "Advanced Trade API WebSocket unauthenticated messages are rate-limited at 8 per second per IP
    # address" (venues.md §5.2; counted per connection here).
    max_incoming_per_s = 8

    def add_key(self, name: str, public_pem: bytes | str) -> None:
        """Register a CDP key (``organizations/…/apiKeys/…`` or a bare id) by its PEM public key."""
        self.keys[name] = public_pem.encode() if isinstance(public_pem, str) else public_pem

    def on_open(self, conn: Conn) -> None:
        conn.state["seq"] = 0
        conn.state["hb"] = 0

    def send_events(self, conn: Conn, channel: str, events: list[Any], skip: bool = False) -> None:
        if skip:  # a gap fault: the message's sequence number is spent, the message is not sent
            conn.state["seq"] += 1
            return
        conn.send_text(self.frame(conn, channel, events))

    def frame(self, conn: Conn, channel: str, events: list[Any]) -> bytes:
        """The next message on ``conn``: it takes the connection's next ``sequence_num``."""
        seq = conn.state["seq"]
        conn.state["seq"] = seq + 1
        body = {
            "channel": channel,
            "client_id": "",
            "timestamp": ts(conn.endpoint.now_ms()),
            "sequence_num": seq,
            "events": events,
        }
        return orjson.dumps(body)

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        if b'"jwt"' not in data:
            # What Coinbase does past its limit is not documented: our reading refuses the message
            # with an error, as its other refusals, and counts it (the tests' truth).
            now = time.monotonic()
            rx: list[float] = conn.state.setdefault("rx", [])
            rx.append(now)
            while now - rx[0] > 1.0:
                rx.pop(0)
            if len(rx) > self.max_incoming_per_s:
                self.ws_rate_refused += 1
                conn.send_text(orjson.dumps({"type": "error", "message": "rate limit exceeded"}))
                return
        try:
            msg = orjson.loads(data)
            kind, channel = msg["type"], msg["channel"]
            products = msg.get("product_ids", [])
            if kind not in ("subscribe", "unsubscribe") or channel not in CHANNELS:
                raise ValueError(kind)
            if not isinstance(products, list):
                raise ValueError(products)
            if channel != "user":
                products = [_served_as(p) for p in products]
            if any(p not in self.books for p in products):
                raise ValueError(products)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            conn.send_text(orjson.dumps({"type": "error", "message": "Failure to subscribe"}))
            return
        ep = conn.endpoint
        claims = verify_jwt(str(msg["jwt"]), self.keys, ep.now_ms() / 1000) if "jwt" in msg else None
        if ("jwt" in msg or channel == "user") and claims is None:
            # A JWT that is sent must be valid (WS JWTs carry no "uri"); public channels need none.
            conn.send_text(orjson.dumps({"type": "error", "message": "authentication failure"}))
            return
        if channel == "user":
            assert claims is not None
            self.orders.user_subscribe(conn, str(claims["sub"]), kind == "subscribe")
            return
        topics = [f"{channel}:{p}" for p in products] if channel != "heartbeats" else ["heartbeats"]
        for t in topics:
            if kind == "unsubscribe":
                ep.unsubscribe(conn, t)
            elif t not in conn.topics:
                ep.subscribe(conn, t)
                if channel == "level2":
                    self._snapshot(conn, t.split(":", 1)[1])
        subs: dict[str, list[str]] = {}
        for t in sorted(conn.topics):
            ch, _, p = t.partition(":")
            subs.setdefault(ch, [])
            if p:
                subs[ch].append(p)
        self.send_events(conn, "subscriptions", [{"subscriptions": subs}])

    def _snapshot(self, conn: Conn, product: str) -> None:
        fp, fq = self.fmt[product]
        book = self.books[product]
        t = ts(conn.endpoint.now_ms())
        updates = [
            {"side": "bid", "event_time": t, "price_level": fp(p), "new_quantity": fq(q)}
            for p, q in book.bids.top()
        ]
        updates += [
            {"side": "offer", "event_time": t, "price_level": fp(p), "new_quantity": fq(q)}
            for p, q in book.asks.top()
        ]
        self.send_events(conn, "l2_data", [{"type": "snapshot", "product_id": product, "updates": updates}])

    def on_step(self, symbol: str, step: Step) -> None:
        topic = f"level2:{symbol}"
        if topic in self.live:
            fp, fq = self.fmt[symbol]
            for ep, subs in self.subscribers(topic):
                skip = bool(ep.book_faults) and ep.take_book_fault(symbol) == "gap"
                t = ts(ep.now_ms())
                updates = [
                    {
                        "side": "bid" if s == BID else "offer",
                        "event_time": t,
                        "price_level": fp(p),
                        "new_quantity": fq(q),
                    }
                    for s, p, q in step.changes
                ]
                events = [{"type": "update", "product_id": symbol, "updates": updates}]
                for c in list(subs):
                    self.send_events(c, "l2_data", events, skip)
        topic = f"market_trades:{symbol}"
        if step.trades and topic in self.live:
            fp, fq = self.fmt[symbol]
            for ep, subs in self.subscribers(topic):
                t = ts(ep.now_ms())
                trades = [
                    {
                        "trade_id": str(tr.id),
                        "product_id": symbol,
                        "price": fp(tr.price),
                        "size": fq(tr.qty),
                        # The maker's side, as Coinbase names it on public trades (Exchange docs;
                        # NautilusTrader reads Advanced Trade the same way).
                        "side": "BUY" if tr.buyer_maker else "SELL",
                        "time": t,
                    }
                    # Newest first, as Coinbase lists them (a live message in ccxt/ccxt#27606: trade
                    # ids 929248663, 929248662, 929248661, 929248660; ccxt/ccxt#29477).
                    for tr in reversed(step.trades)
                ]
                for c in list(subs):
                    self.send_events(c, "market_trades", [{"type": "update", "trades": trades}])

    def on_timer(self, ep: VenueServer, now: float) -> None:
        within = self.interval("subscribe_within")
        every = self.interval("heartbeat")
        for c in list(ep.conns.values()):
            if not c.topics:
                if now - c.opened_at > within:
                    c.abort()
                continue
            if "heartbeats" in c.topics and now - c.state.get("hb_at", c.opened_at) >= every:
                c.state["hb_at"] = now
                c.state["hb"] += 1
                events = [{"current_time": ts(ep.now_ms()), "heartbeat_counter": c.state["hb"]}]
                self.send_events(c, "heartbeats", events)

    # REST --------------------------------------------------------------------------------------

    def _products(self, ep: VenueServer, req: Request) -> Response:
        prices = {s: f"{i.mid:f}" for s, i in self.instruments.items()}
        grid = {s: self.grids.listed(s, ep.now_ms()) for s in self.instruments}
        return json_response(metadata.products(grid, prices, req.raw_query, self.status))

    def _private(self, ep: VenueServer, req: Request, key: str) -> Response | None:
        if (req.method, req.path) == ("GET", "/api/v3/brokerage/products"):
            return self._products(ep, req)
        if (req.method, req.path) == ("GET", "/api/v3/brokerage/accounts"):
            accounts = [
                {
                    "uuid": f"{key}:{a}",
                    "name": f"{a} Wallet",
                    "currency": a,
                    "available_balance": {"value": f"{free:f}", "currency": a},
                    "hold": {"value": f"{held:f}", "currency": a},
                    "active": True,
                    "type": "ACCOUNT_TYPE_FIAT" if a == "USD" else "ACCOUNT_TYPE_CRYPTO",
                }
                for a, free, held in self.engine.ledger.holdings(key)
            ]
            return json_response(
                {"accounts": accounts, "has_next": False, "cursor": "", "size": len(accounts)}
            )
        return self.orders.route(ep, req, key)

    async def http(self, ep: VenueServer, req: Request) -> Response:
        if (req.method, req.path) == ("GET", "/api/v3/brokerage/time"):
            ms = ep.now_ms()
            return json_response({"iso": ts(ms), "epochSeconds": str(ms // 1000), "epochMillis": str(ms)})
        if (req.method, req.path) == ("GET", "/api/v3/brokerage/market/products"):
            return self._products(ep, req)
        if req.path.startswith("/api/v3/brokerage/") and not req.path.startswith("/api/v3/brokerage/market/"):
            auth = req.headers.get("authorization", "")
            claims = (
                verify_jwt(auth[7:], self.keys, ep.now_ms() / 1000) if auth.startswith("Bearer ") else None
            )
            uri = f"{req.method} {req.headers.get('host', '')}{req.raw_path}"
            if claims is None or claims.get("uri") != uri:
                return json_response({"error": "UNAUTHENTICATED", "message": "Unauthorized"}, 401)
            key = str(claims["sub"])
            # Private REST: ``rate_limit`` (30) requests per second per key, reported in the headers
            # the official SDK reads; over it HTTP 429.
            lim = self.limiters.get(key)
            if lim is None:
                n = int(self.config.profile.get("rate_limit", 30))
                lim = self.limiters[key] = WeightLimiter(n, self.interval("rate_window"))
            now = time.monotonic()
            allowed = lim.charge(now)[0] == "ok"
            reset = str(int(time.time() + lim.reset_at() - now))
            headers = [("x-ratelimit-limit", str(lim.limit)), ("x-ratelimit-remaining", str(lim.remaining))]
            headers.append(("x-ratelimit-reset", reset))
            if not allowed:
                self.limit_refusals[(key, "rest")] += 1
                resp = json_response({"error": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"}, 429)
            else:
                missing = json_response({"error": "NOT_FOUND", "message": req.path}, 404)
                resp = self._private(ep, req, key) or missing
            resp.headers.extend(headers)
            return resp
        return json_response({"error": "NOT_FOUND", "message": req.path}, 404)
