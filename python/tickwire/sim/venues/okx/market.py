"""The OKX venue class: v5 public market data (venues.md §2.2, §2.3), private-socket login and REST
signature checks, and the routing of order entry to ``trade.py``.

``/ws/v5/public``: subscribe/unsubscribe with ``{"op","args":[{"channel","instId"}]}``; ``books`` (400),
``books50-l2-tbt``, ``books-l2-tbt`` as a snapshot then increments chained by ``prevSeqId``/``seqId``
with the CRC32 checksum of the top 25 levels as sent (signed int32); ``books5``, ``bbo-tbt``,
``trades``. Profile ``{"checksum": "zero"}``: every book message's checksum is 0, as OKX has written
it since 2026-06-23 (deprecated: the field kept, always 0; integrity by ``seqId``/``prevSeqId``).
Profile ``{"book_snapshot": "rest"}``: a book subscription gets no snapshot, only the updates, as OKX
announced for its book channels (production early August 2026): the book is
``GET /api/v5/market/books``' (``seqId`` the stream's: the book's last step, which the next update's
``prevSeqId`` is at or below and its ``seqId`` above).
Text ``ping`` gets ``pong``; an idle book sends the empty "no update" message
(``prevSeqId == seqId``); a connection with no subscription (nor a log-in) or no data for 30 s is
cut (a ``pong`` is data).
"""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime
from decimal import Decimal
from itertools import zip_longest
from typing import Any, ClassVar

import orjson

from tickwire.sim.auth import okx_sign, same
from tickwire.sim.http import Request, Response, json_response
from tickwire.sim.limits import WeightLimiter
from tickwire.sim.market import DepthView, Step, default_instruments
from tickwire.sim.server import VenueServer
from tickwire.sim.venues.base import Venue
from tickwire.sim.venues.okx.metadata import currencies, instruments
from tickwire.sim.venues.okx.trade import OkxOrders
from tickwire.sim.ws import Conn

BOOK_CHANNELS = {"books": 400, "books-l2-tbt": 400, "books50-l2-tbt": 50}
CHANNELS = (*BOOK_CHANNELS, "books5", "bbo-tbt", "trades")


def okx_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    return _checksum([f"{p}:{q}" for p, q in bids], [f"{p}:{q}" for p, q in asks])


def _checksum(bids: list[str], asks: list[str]) -> int:
    """CRC32 as a signed int32 of the top-25 ``price:size`` tokens, bid and ask alternating."""
    parts = [t for pair in zip_longest(bids[:25], asks[:25]) for t in pair if t is not None]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class Okx(Venue):
    shows_status = True
    sets_grid = True  # its instruments (metadata.py) and order entry (trade.py) follow set_grid
    announces_grid = frozenset({"tick", "min_qty"})  # upcChg's tickSz, minSz (not lotSz)
    name = "okx"
    # Funded accounts' margin orders: 10x unless the profile says otherwise (venues' common default).
    leverage = Decimal(10)
    ws_paths: ClassVar[dict[str, str]] = {"public": "/ws/v5/public", "private": "/ws/v5/private"}
    has_checksum = True
    intervals: ClassVar[dict[str, float]] = {
        "idle_cut": 30.0,
        "book_idle": 60.0,
        "order_window": 2.0,  # order rate limits are per 2 s
        "rest_window": 2.0,
    }
    default_instruments = default_instruments(
        [
            ("BTC-USDT", "0.1", "0.00000001", "60000", 100_000),
            ("ETH-USDT", "0.01", "0.000001", "3000", 10_000),
        ],
        {  # min_qty, max_qty, min_notional as the venue lists them
            "BTC-USDT": ("0.00001", "9999999999", "0"),
            "ETH-USDT": ("0.0001", "9999999999", "0"),
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fmt = self.formats(strip=True)
        self.last_bbo: dict[str, tuple[int, int, int, int]] = {}
        self.last_pub: dict[tuple[str, int], float] = {}
        self.tokens: dict[str, dict[tuple[int, int], str]] = {s: {} for s in self.books}
        self.last_top5: dict[str, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        self.keys: dict[str, tuple[str, str]] = {}  # api key -> (secret, passphrase)
        self.key_accounts: dict[str, str] = {}  # a further key of an account -> that account
        self.trade = OkxOrders(self.context(self.fmt))
        self.rest_limiters: dict[int, WeightLimiter] = {}
        self.zero_checksum = self.config.profile.get("checksum") == "zero"
        self.pushes_snapshot = self.config.profile.get("book_snapshot", "stream") != "rest"

    # helpers -----------------------------------------------------------------------------------

    def _levels(self, symbol: str, levels: list[tuple[int, int]]) -> list[list[str]]:
        fp, fq = self.fmt[symbol]
        return [[fp(p), fq(q), "0", str(1 + q % 4) if q else "0"] for p, q in levels]

    def checksum(self, symbol: str) -> int:
        if self.zero_checksum:
            return 0
        book = self.books[symbol]
        tok = self.tokens[symbol]
        return _checksum(
            [tok.get(pq) or self._token(symbol, pq) for pq in book.bids.top(25)],
            [tok.get(pq) or self._token(symbol, pq) for pq in book.asks.top(25)],
        )

    def _token(self, symbol: str, pq: tuple[int, int]) -> str:
        # "price:size" strings repeat from message to message: formatting them once matters at 50k/s.
        fp, fq = self.fmt[symbol]
        tok = self.tokens[symbol]
        if len(tok) > 100_000:
            tok.clear()
        s = tok[pq] = f"{fp(pq[0])}:{fq(pq[1])}"
        return s

    @staticmethod
    def _conn_id(conn: Conn) -> str:
        return f"{conn.id:08x}"

    def _error(self, conn: Conn, code: str, msg: str, rid: Any = None) -> None:
        body: dict[str, Any] = {"event": "error", "code": code, "msg": msg, "connId": self._conn_id(conn)}
        if rid is not None:
            body["id"] = rid
        conn.send_text(orjson.dumps(body))

    # WebSocket ---------------------------------------------------------------------------------

    def accept(self, conn: Conn) -> tuple[int, bytes] | None:
        if conn.path.rstrip("/") in ("/ws/v5/public", "/ws/v5/private"):
            return None
        return 404, b'{"msg":"no such path"}'

    def add_key(self, key: str, secret: str, passphrase: str, *, account: str | None = None) -> None:
        """``account``: the account the key trades for when it is another key's (key rotation)."""
        self.keys[key] = (secret, passphrase)
        if account is not None:
            self.key_accounts[key] = account

    def account_of(self, key: str) -> str:
        return self.key_accounts.get(key, key)

    def on_message(self, conn: Conn, data: bytes, binary: bool) -> None:
        if data == b"ping":
            conn.send_text(b"pong")
            return
        if conn.path.rstrip("/") == "/ws/v5/private":
            self._on_private(conn, data)
            return
        try:
            msg = orjson.loads(data)
            op, args = msg["op"], msg["args"]
            rid = msg.get("id")
            if not isinstance(args, list):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self._error(conn, "60012", f"Invalid request: {data[:100].decode('utf-8', 'replace')}")
            return
        if op not in ("subscribe", "unsubscribe"):
            self._error(conn, "60012", f"Invalid request: op {op}", rid)
            return
        for arg in args:
            channel, inst = (arg.get("channel"), arg.get("instId")) if isinstance(arg, dict) else (None, None)
            if channel not in CHANNELS or inst not in self.books:
                self._error(conn, "60018", f"Wrong URL or channel:{channel},instId:{inst} doesn't exist", rid)
                continue
            reply: dict[str, Any] = {"event": op, "arg": {"channel": channel, "instId": inst}}
            if rid is not None:
                reply = {"id": rid, **reply}
            reply["connId"] = self._conn_id(conn)
            topic = f"{channel}:{inst}"
            if op == "unsubscribe":
                conn.endpoint.unsubscribe(conn, topic)
                conn.send_text(orjson.dumps(reply))
                continue
            conn.send_text(orjson.dumps(reply))
            if topic in conn.topics:
                continue
            conn.endpoint.subscribe(conn, topic)
            if channel in BOOK_CHANNELS:
                view = self.view(inst, BOOK_CHANNELS[channel], True)  # its updates start now
                if self.pushes_snapshot:
                    self._snapshot(conn, channel, inst, view)

    def _snapshot(self, conn: Conn, channel: str, symbol: str, view: DepthView) -> None:
        book = self.books[symbol]
        bids, asks = book.bids.top(view.depth), book.asks.top(view.depth)
        msg = {
            "arg": {"channel": channel, "instId": symbol},
            "action": "snapshot",
            "data": [
                {
                    "asks": self._levels(symbol, asks),
                    "bids": self._levels(symbol, bids),
                    "ts": str(conn.endpoint.now_ms()),
                    "checksum": self.checksum(symbol),
                    "prevSeqId": -1,
                    "seqId": view.seq,
                }
            ],
        }
        conn.send_text(orjson.dumps(msg))

    # publishing --------------------------------------------------------------------------------

    def _book_update(
        self, channel: str, symbol: str, view: DepthView, prev: int, bids: Any, asks: Any, cs: int
    ) -> None:
        topic = f"{channel}:{symbol}"
        if topic not in self.live:
            return
        payload: bytes | None = None
        for ep, subs in self.subscribers(topic):
            fault = ep.take_book_fault(symbol) if ep.book_faults else None
            if fault == "gap":
                continue
            if fault == "corrupt":
                bad = (cs + 1) if cs < (1 << 31) - 1 else -(1 << 31)
                msg = self._update_text(channel, symbol, ep, prev, view.seq, bids, asks, bad)
            else:
                if payload is None:
                    payload = self._update_text(channel, symbol, ep, prev, view.seq, bids, asks, cs)
                msg = payload
            for c in subs:
                c.send_text(msg)

    def _update_text(
        self, channel: str, symbol: str, ep: VenueServer, prev: int, seq: int, bids: Any, asks: Any, cs: int
    ) -> bytes:
        # Built as text (no dict per level): this is the hot path of an OKX benchmark.
        fp, fq = self.fmt[symbol]
        a = ",".join(f'["{fp(p)}","{fq(q)}","0","{1 + q % 4 if q else 0}"]' for p, q in asks)
        b = ",".join(f'["{fp(p)}","{fq(q)}","0","{1 + q % 4 if q else 0}"]' for p, q in bids)
        return (
            f'{{"arg":{{"channel":"{channel}","instId":"{symbol}"}},"action":"update","data":[{{'
            f'"asks":[{a}],"bids":[{b}],"ts":"{ep.now_ms()}","checksum":{cs},'
            f'"prevSeqId":{prev},"seqId":{seq}}}]}}'
        ).encode()

    def on_step(self, symbol: str, step: Step) -> None:
        cs: int | None = None
        for (depth, _), view in self.views[symbol].items():
            bids, asks = view.diff(step)
            if not bids and not asks:
                continue
            prev, view.seq = view.seq, step.last_id
            self.last_pub[(symbol, depth)] = time.monotonic()
            if cs is None:
                cs = self.checksum(symbol)
            for channel, d in BOOK_CHANNELS.items():
                if d == depth:
                    self._book_update(channel, symbol, view, prev, bids, asks, cs)
        book = self.books[symbol]
        if f"books5:{symbol}" in self.live:
            top5 = (book.bids.top(5), book.asks.top(5))
            if top5 != self.last_top5.get(symbol):
                self.last_top5[symbol] = top5
                self._top_snapshot("books5", symbol, 5, step.last_id)
        bb, ba = book.bids.best(), book.asks.best()
        if bb is not None and ba is not None:
            bbo = (bb, book.bids.levels[bb], ba, book.asks.levels[ba])
            if bbo != self.last_bbo.get(symbol):
                self.last_bbo[symbol] = bbo
                if f"bbo-tbt:{symbol}" in self.live:
                    self._top_snapshot("bbo-tbt", symbol, 1, step.last_id)
        if step.trades and f"trades:{symbol}" in self.live:
            fp, fq = self.fmt[symbol]
            for ep, subs in self.subscribers(f"trades:{symbol}"):
                data = [
                    {
                        "instId": symbol,
                        "tradeId": str(t.id),
                        "px": fp(t.price),
                        "sz": fq(t.qty),
                        "side": "sell" if t.buyer_maker else "buy",
                        "ts": str(ep.now_ms()),
                        "count": "1",
                    }
                    for t in step.trades
                ]
                msg = orjson.dumps({"arg": {"channel": "trades", "instId": symbol}, "data": data})
                for c in subs:
                    c.send_text(msg)

    def _top_snapshot(self, channel: str, symbol: str, n: int, seq: int) -> None:
        book = self.books[symbol]
        for ep, subs in self.subscribers(f"{channel}:{symbol}"):
            data: dict[str, Any] = {
                "asks": self._levels(symbol, book.asks.top(n)),
                "bids": self._levels(symbol, book.bids.top(n)),
                "ts": str(ep.now_ms()),
                "seqId": seq,
            }
            if channel == "books5":
                data["instId"] = symbol
            msg = orjson.dumps({"arg": {"channel": channel, "instId": symbol}, "data": [data]})
            for c in subs:
                c.send_text(msg)

    def on_timer(self, ep: VenueServer, now: float) -> None:
        self.trade.dead_man.expire()  # cancel-all-after
        idle_cut = self.interval("idle_cut")
        if not ep.stalled:
            for c in list(ep.conns.values()):
                # "The subscription is not established": neither subscribed nor logged in (a
                # logged-in private connection takes orders: its ``ping``s keep it, as every other's).
                idle = not c.topics and not c.state.get("login")
                if (idle and now - c.opened_at > idle_cut) or now - max(c.last_tx, c.opened_at) > idle_cut:
                    c.abort()
        if ep.index != 0:
            return  # the idle "no update" message is a property of the book: publish it once
        book_idle = self.interval("book_idle")
        for symbol, views in self.views.items():
            for (depth, _), view in views.items():
                last = self.last_pub.get((symbol, depth), 0.0)
                if last and now - last > book_idle:
                    self.last_pub[(symbol, depth)] = now
                    cs = self.checksum(symbol)
                    for channel, d in BOOK_CHANNELS.items():
                        if d == depth:
                            self._book_update(channel, symbol, view, view.seq, [], [], cs)
                elif not last:
                    self.last_pub[(symbol, depth)] = now

    def send_server_shutdown(self, conn: Conn) -> None:
        """OKX's notice of a service upgrade, 60 s before it cuts the connection (changelog
        2025-05-27, error code 64008), on public and private connections alike."""
        text = "The connection will soon be closed for a service upgrade. Please reconnect."
        notice = {"event": "notice", "code": "64008", "msg": text, "connId": self._conn_id(conn)}
        conn.send_text(orjson.dumps(notice))

    # REST --------------------------------------------------------------------------------------

    async def http(self, ep: VenueServer, req: Request) -> Response:
        if (req.method, req.path) == ("GET", "/api/v5/public/time"):
            return json_response({"code": "0", "msg": "", "data": [{"ts": str(ep.now_ms())}]})
        if (req.method, req.path) == ("GET", "/api/v5/public/instruments"):
            listed = instruments(
                self.instruments, req.query, self.status, self.config.profile.get("preopen", ()),
                self.grids, ep.now_ms(),
            )  # fmt: skip
            return json_response(dict(zip(("code", "msg", "data"), listed, strict=True)))
        if req.path.startswith(("/api/v5/account/", "/api/v5/trade/", "/api/v5/asset/")):
            denied = self._check_rest(ep, req)
            if denied is not None:
                return denied
            if (req.method, req.path) == ("GET", "/api/v5/asset/currencies"):
                return json_response(
                    {"code": "0", "msg": "", "data": currencies(self.instruments, req.query)}
                )
            account = self.account_of(req.headers["ok-access-key"])
            traded = self.trade.rest(ep, req, account)
            if traded is not None:
                return json_response(dict(zip(("code", "msg", "data"), traded, strict=True)))
            if (req.method, req.path) == ("GET", "/api/v5/account/balance"):
                held = self.engine.ledger.holdings(account)
                details = [
                    {
                        "ccy": a,
                        "cashBal": str(f + lk),
                        "availBal": str(f),
                        "frozenBal": str(lk),
                        "eq": str(f + lk),
                    }
                    for a, f, lk in held
                ]
                balance = [{"totalEq": "0", "details": details, "uTime": str(ep.now_ms())}]
                return json_response({"code": "0", "msg": "", "data": balance})
        if (req.method, req.path) == ("GET", "/api/v5/market/books"):
            # Public REST: per IP (one endpoint here), 40 requests per 2 s; over it HTTP 429, 50011.
            lim = self.rest_limiters.get(ep.index)
            if lim is None:
                n = int(self.config.profile.get("rest_rate_limit", 40))
                lim = self.rest_limiters[ep.index] = WeightLimiter(n, self.interval("rest_window"))
            if lim.charge(time.monotonic())[0] != "ok":
                return json_response({"code": "50011", "msg": "Too Many Requests", "data": []}, 429)
            q = req.query
            symbol = q.get("instId", "")
            if symbol not in self.books:
                return json_response({"code": "51001", "msg": "Instrument ID does not exist", "data": []})
            try:
                sz = min(400, max(1, int(q.get("sz", "1"))))
            except ValueError:
                return json_response({"code": "51000", "msg": "Parameter sz error", "data": []})
            book = self.books[symbol]
            data = {
                "asks": self._levels(symbol, book.asks.top(sz)),
                "bids": self._levels(symbol, book.bids.top(sz)),
                "ts": str(ep.now_ms()),
                "seqId": book.update_id,  # the book's last step: the stream's numbering
            }
            return json_response({"code": "0", "msg": "", "data": [data]})
        return json_response({"code": "50000", "msg": f"no route {req.path}", "data": []}, 404)

    # auth --------------------------------------------------------------------------------------

    def _on_private(self, conn: Conn, data: bytes) -> None:
        try:
            msg = orjson.loads(data)
            op, args = msg["op"], msg["args"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self._error(conn, "60012", "Invalid request")
            return
        if op != "login":
            if not conn.state.get("login"):
                self._error(conn, "60011", "Please log in")
            elif op in ("order", "cancel-order", "amend-order"):
                self.trade.on_op(conn, msg)
            elif (
                op == "subscribe"
                and args
                and all(isinstance(a, dict) and a.get("channel") == "orders" for a in args)
            ):
                for a in args:
                    conn.send_text(
                        orjson.dumps({"event": "subscribe", "arg": a, "connId": self._conn_id(conn)})
                    )
                self.trade.streams.add(conn.state["api_key"], conn)
            else:  # other private channels (positions, account) are not simulated yet
                self._error(conn, "60012", f"Invalid request: op {op}")
            return
        arg = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else {}
        creds = self.keys.get(str(arg.get("apiKey", "")))
        ts = str(arg.get("timestamp", ""))
        now_s = conn.endpoint.now_ms() / 1000
        # OKX's WebSocket error codes, one per cause (60009 is its generic "Login failed.").
        ok = False
        if creds is None:
            self._error(conn, "60005", "Invalid apiKey")
        elif not ts.isdigit():
            self._error(conn, "60004", "Invalid timestamp")
        elif abs(now_s - int(ts)) > 30:
            self._error(conn, "60006", "Timestamp request expired")
        elif not same(str(arg.get("passphrase", "")), creds[1]):
            self._error(conn, "60024", "Wrong passphrase")
        elif not same(str(arg.get("sign", "")), okx_sign(creds[0], ts + "GET/users/self/verify")):
            self._error(conn, "60007", "Invalid sign")
        else:
            ok = True
        if not ok:
            return
        conn.state["login"] = True
        conn.state["api_key"] = self.account_of(str(arg["apiKey"]))  # the account it trades
        conn.send_text(
            orjson.dumps({"event": "login", "code": "0", "msg": "", "connId": self._conn_id(conn)})
        )

    def _check_rest(self, ep: VenueServer, req: Request) -> Response | None:
        h = req.headers
        creds = self.keys.get(h.get("ok-access-key", ""))
        if creds is None:
            return json_response({"code": "50111", "msg": "Invalid OK-ACCESS-KEY", "data": []}, 401)
        if not same(h.get("ok-access-passphrase", ""), creds[1]):
            return json_response({"code": "50105", "msg": "Invalid OK-ACCESS-PASSPHRASE", "data": []}, 401)
        ts = h.get("ok-access-timestamp", "")
        try:
            t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp() * 1000
        except ValueError:
            return json_response({"code": "50107", "msg": "Invalid OK-ACCESS-TIMESTAMP", "data": []}, 401)
        if abs(ep.now_ms() - t) > 30_000:
            return json_response({"code": "50102", "msg": "Timestamp request expired", "data": []}, 401)
        path = req.raw_path + ("?" + req.raw_query if req.raw_query else "")
        prehash = ts + req.method + path + req.body.decode("utf-8", "replace")
        if not same(h.get("ok-access-sign", ""), okx_sign(creds[0], prehash)):
            return json_response({"code": "50113", "msg": "Invalid Sign", "data": []}, 401)
        return None
