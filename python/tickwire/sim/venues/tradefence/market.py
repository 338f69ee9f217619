"""The Tradefence venue class (seed-venues.md): market data on ``/market-data``, the OAuth 2.0 code
flow, and the routing of REST calls to ``hooks.py`` and ``trade.py``.

``{"action":"subscribe","symbols":["AAPL"]}`` (the document's shape). Defaults where it is silent:
the ack ``{"type":"subscribed","symbols":[...]}``; per symbol a ``book`` snapshot then updates shaped
like Clarofinlore's (``action`` snapshot/update, ``seq``/``prev_seq``, string levels, ``"0"``
deletes), ``quote`` on a best bid/ask change and ``trade`` messages.

OAuth (RFC 6749 authorization code): ``GET /authorize`` consents at once and redirects with a
single-use ``code`` (valid ``code_ttl``); ``POST /token`` exchanges it (form-encoded, client secret
in the body) or a refresh token for a Bearer ``access_token`` (``expires_in`` 3600). The REST API
answers a missing or bad token with 401 ``{"code": 1001, "message": "invalid credentials"}``.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import Counter
from typing import Any, ClassVar
from urllib.parse import urlencode

import orjson

from tickwire.sim.auth import same
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import BID, Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.venues.base import Venue
from tickwire.sim.venues.tradefence.hooks import TradefenceHooks
from tickwire.sim.venues.tradefence.trade import TradefenceOrders
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

    intervals: ClassVar[dict[str, float]] = {
        "code_ttl": 60.0,
        "token_ttl": 3600.0,
        "rate_window": 1.0,
        "webhook_timeout": 5.0,
        "webhook_retry": 1.0,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clients: dict[str, tuple[str, str]] = {}  # client_id -> (secret, redirect_uri)
        self.codes: dict[str, tuple[str, str, str, float]] = {}  # code -> (client, redirect, scope, expiry)
        self.tokens: dict[str, tuple[str, float]] = {}  # access token -> (client, expiry)
        self.refresh: dict[str, tuple[str, str]] = {}  # refresh token -> (client, scope)
        self.fmt = self.formats()
        ctx = self.context(self.fmt)
        self.orders = TradefenceOrders(ctx)
        self.hooks = TradefenceHooks(ctx, self.orders.order_json)
        self.limiters: dict[str, WeightLimiter] = {}
        self.limit_refusals: Counter[tuple[str, str]] = Counter()  # (client, "rest") -> refused
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
        self.hooks.on_step(symbol)
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

    # OAuth and REST ----------------------------------------------------------------------------

    def register(self, args: dict[str, Any]) -> None:
        self.add_client(**args)

    def add_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = (client_secret, redirect_uri)

    def _issue(self, client: str, scope: str) -> Response:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        ttl = self.interval("token_ttl")
        self.tokens[access] = (client, time.monotonic() + ttl)
        self.refresh[refresh] = (client, scope)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": round(ttl)}
        body.update(refresh_token=refresh, scope=scope)
        return json_response(body, headers=[("Cache-Control", "no-store")])

    async def http(self, ep: VenueServer, req: Request) -> Response:
        if (req.method, req.path) == ("GET", "/authorize"):
            q = req.query
            client = self.clients.get(q.get("client_id", ""))
            if client is None or q.get("redirect_uri") != client[1]:
                return json_response({"error": "invalid_request"}, 400)
            if q.get("response_type") != "code":
                return json_response({"error": "unsupported_response_type"}, 400)
            code = secrets.token_urlsafe(16)
            scope = q.get("scope", "")
            self.codes[code] = (
                q["client_id"],
                client[1],
                scope,
                time.monotonic() + self.interval("code_ttl"),
            )
            params = {"code": code, **({"state": q["state"]} if "state" in q else {})}
            return Response(302, b"", [("Location", f"{client[1]}?{urlencode(params)}")])
        if (req.method, req.path) == ("POST", "/token"):
            return self._token(req.form())
        if (req.method, req.path) == ("GET", "/v1/instruments"):
            return self.orders.instruments()  # public (default: the document lists no metadata)
        auth = req.headers.get("authorization", "")
        grant = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if grant is None or grant[1] <= time.monotonic():
            return json_response({"code": 1001, "message": "invalid credentials"}, 401)
        limited = self._rate_limit(grant[0])
        if limited is not None:
            return limited
        routed = self.hooks.route(req, grant[0]) or self.orders.route(ep, req, grant[0])
        if routed is not None:
            return routed
        return json_response({"code": 404, "message": f"no route {req.method} {req.path}"}, 404)

    def _rate_limit(self, client: str) -> Response | None:
        """Requests per client per ``rate_window`` (profile ``rate_limit``, default 100: the document
        gives no number). Over it: HTTP 429, the documented code 2001, and ``Retry-After``."""
        lim = self.limiters.get(client)
        if lim is None:
            per = int(self.config.profile.get("rate_limit", 100))
            # No ban documented: every excess request gets the same answer.
            lim = self.limiters[client] = WeightLimiter(per, self.interval("rate_window"))
        verdict, retry = lim.charge(time.monotonic(), 1)
        if verdict == "ok":
            return None
        self.limit_refusals[(client, "rest")] += 1
        retry_after = [("Retry-After", str(max(1, math.ceil(retry))))]
        return json_response({"code": 2001, "message": "rate limit exceeded"}, 429, retry_after)

    async def stop(self) -> None:
        await self.hooks.stop()

    def _token(self, f: dict[str, str]) -> Response:
        client = self.clients.get(f.get("client_id", ""))
        if client is None or not same(f.get("client_secret", ""), client[0]):
            return json_response({"error": "invalid_client"}, 401)
        if f.get("grant_type") == "authorization_code":
            got = self.codes.pop(f.get("code", ""), None)  # single use, even when it then fails
            if got is None or got[0] != f["client_id"] or got[3] <= time.monotonic():
                return json_response({"error": "invalid_grant"}, 400)
            if "redirect_uri" in f and f["redirect_uri"] != got[1]:
                return json_response({"error": "invalid_grant"}, 400)
            return self._issue(got[0], got[2])
        if f.get("grant_type") == "refresh_token":
            old = self.refresh.pop(f.get("refresh_token", ""), None)
            if old is None or old[0] != f["client_id"]:
                return json_response({"error": "invalid_grant"}, 400)
            return self._issue(old[0], old[1])
        return json_response({"error": "unsupported_grant_type"}, 400)
