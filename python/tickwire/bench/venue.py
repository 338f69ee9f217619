"""The bench venue: a Binance-spot-shaped server that measures tick→order itself, one tick in flight.

Run in its own process (``python -m tickwire.bench.venue`` prints its URLs as one JSON line), so its
CPU time and GIL are not the client's. It serves what a Binance client needs to quote one symbol —
``GET /api/v3/time``, ``/api/v3/exchangeInfo``, ``/api/v3/depth``, the combined ``/stream`` WebSocket
with ``SUBSCRIBE`` — and takes ``POST /api/v3/order`` without checking signatures (every contender
signs; checking would only add the same server time to each).

Every order's price is checked against this venue's own best bid (each contender quotes it), so a
client whose book went wrong shows up in the answer's ``not_at_best_bid``.

``POST /bench/blast {"symbol", "frames"}`` sends ticks as fast as the subscriber's connection takes
them (the ``bus`` stage's sustained-rate source).

A run (``POST /bench/run {"symbol", "ticks", "gap_us"}``) sends the symbol's subscriber one 40-level
``depthUpdate`` (20 bids, 20 asks, spot's 8-decimal text) at a time, stamps ``monotonic_ns`` right
before the frame is written and again when the order for that symbol has been read off its
connection, and sends the next tick ``gap_us`` after the order came (a client that never answers
costs a miss after 200 ms; an order for a missed tick, read within a second more, is counted
``late`` and the next tick waits for it, so a late order is never taken for the next tick's answer);
with ``"spin": true`` the venue polls without sleeping while a tick is
in flight, so a client's write never has to wake it (``tickwire bench --venue-spin``). The answer
lists the tick→order times in nanoseconds: the client's whole path from the kernel handing it the
frame to the kernel taking its order, plus loopback both ways, which every contender pays alike.
Each contender quotes its own symbol, so they stay connected and rounds can alternate between them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sys
import time
from decimal import Decimal
from typing import Any

import orjson
from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

from tickwire.sim.http import HttpProtocol, Request, Response, json_response

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "TRXUSDT")
TICK = 1  # price mantissa step (0.01)
LEVELS = 20  # per side per diff: 40 levels a frame, as the measurement
DEPTH = 200  # levels per side the book keeps
MISS_NS = 200_000_000
# After a miss, how long the venue still waits for the missed order before the next tick.
LATE_NS = 1_000_000_000


def _px(m: int) -> str:
    """A price mantissa at 2 decimals as Binance spot writes it (8 decimals)."""
    return f"{m // 100}.{m % 100:02d}000000"


def _qty(m: int) -> str:
    """A quantity mantissa at 5 decimals (lot 0.00001), 8 decimals on the wire."""
    return f"{m // 100_000}.{m % 100_000:05d}000"


class Book:
    """One symbol's book, moved by a seeded random walk; each step is one 40-level diff."""

    def __init__(self, symbol: str, seed: int) -> None:
        self.symbol = symbol
        self.rnd = random.Random(seed)
        self.mid = 4_325_000 + seed * 1000
        self.update_id = 1_000_000
        self.bids = {self.mid - 1 - i: self.rnd.randrange(1_000, 500_000) for i in range(DEPTH)}
        self.asks = {self.mid + 1 + i: self.rnd.randrange(1_000, 500_000) for i in range(DEPTH)}
        self.stream = symbol.lower() + "@depth@100ms"

    def snapshot(self, limit: int) -> dict[str, Any]:
        bids = sorted(self.bids.items(), reverse=True)[:limit]
        asks = sorted(self.asks.items())[:limit]
        return {
            "lastUpdateId": self.update_id,
            "bids": [[_px(p), _qty(q)] for p, q in bids],
            "asks": [[_px(p), _qty(q)] for p, q in asks],
        }

    def step(self) -> bytes:
        rnd = self.rnd
        self.mid += rnd.choice((-1, 0, 0, 1)) * TICK
        changes: list[list[tuple[int, int]]] = []
        for sign in (-1, 1):
            out = []
            for _ in range(LEVELS):
                p = self.mid + sign * (1 + rnd.randrange(40)) * TICK
                q = 0 if rnd.random() < 0.2 else rnd.randrange(1_000, 500_000)
                out.append((p, q))
            changes.append(out)
        # Keep the sides from crossing as the mid walks: drop what sits on the wrong side.
        for p in [p for p in self.bids if p >= self.mid]:
            changes[0].append((p, 0))
        for p in [p for p in self.asks if p <= self.mid]:
            changes[1].append((p, 0))
        for side, out in ((self.bids, changes[0]), (self.asks, changes[1])):
            for p, q in out:
                if q:
                    side[p] = q
                else:
                    side.pop(p, None)
        self.update_id += 1
        u = self.update_id
        data = {
            "e": "depthUpdate", "E": int(time.time() * 1000), "s": self.symbol, "U": u, "u": u,
            "b": [[_px(p), _qty(q)] for p, q in changes[0]],
            "a": [[_px(p), _qty(q)] for p, q in changes[1]],
        }  # fmt: skip
        return orjson.dumps({"stream": self.stream, "data": data})


class Venue:
    def __init__(self) -> None:
        self.books = {s: Book(s, i) for i, s in enumerate(SYMBOLS)}
        self.by_stream = {b.stream: b for b in self.books.values()}
        self.subscribers: dict[str, WSTransport] = {}
        self.waiting: dict[str, asyncio.Future[int]] = {}
        self.order_ids = itertools.count(1)
        self.orders = 0
        self.conns: set[HttpProtocol] = set()
        # Per symbol, orders priced at / not at this venue's best bid since the last run began.
        self.prices = {s: [0, 0] for s in SYMBOLS}
        # (tick written, order read) of the last run, monotonic_ns: the same clock as a client's on
        # this machine, so a client's own stamps place themselves between.
        self.stamps: list[tuple[int, int]] = []
        # Orders of the last run read after their tick was given up (``run``).
        self.late = 0

    # REST ---------------------------------------------------------------------------------------

    async def handle(self, req: Request) -> Response:
        route = (req.method, req.path)
        if route == ("POST", "/api/v3/order"):
            return self.order(req)
        if route == ("GET", "/api/v3/time"):
            return json_response({"serverTime": int(time.time() * 1000)})
        if route == ("GET", "/api/v3/depth"):
            q = req.query
            return json_response(self.books[q["symbol"]].snapshot(int(q.get("limit", 100))))
        if route == ("GET", "/api/v3/exchangeInfo"):
            return json_response(self.exchange_info())
        if route == ("POST", "/bench/run"):
            body = req.json()
            symbol = str(body["symbol"])
            self.prices[symbol] = [0, 0]
            self.stamps = []
            self.late = 0
            ns = await self.run(
                symbol, int(body["ticks"]), int(body.get("gap_us", 300)), bool(body.get("spin"))
            )
            right, wrong = self.prices[symbol]
            reply = {"ns": ns, "at_best_bid": right, "not_at_best_bid": wrong, "late": self.late}
            if body.get("stamps"):
                reply["stamps"] = self.stamps
            return json_response(reply)
        if route == ("POST", "/bench/blast"):
            body = req.json()
            return json_response(await self.blast(str(body["symbol"]), int(body["frames"])))
        if route == ("GET", "/bench/orders"):
            return json_response({"orders": self.orders})
        return json_response({"code": -1, "msg": f"no route {req.method} {req.path}"}, 404)

    def order(self, req: Request) -> Response:
        self.orders += 1
        q = req.query
        symbol = q.get("symbol", "")
        book = self.books.get(symbol)
        if book is not None:  # the client's book against ours: its price is our best bid
            right = Decimal(q.get("price", "0")) == Decimal(max(book.bids)).scaleb(-2)
            self.prices[symbol][0 if right else 1] += 1
        # An IOC that found nothing: the order ends at once, so no client keeps it open.
        return json_response(
            {
                "symbol": symbol, "orderId": next(self.order_ids),
                "orderListId": -1, "clientOrderId": q.get("newClientOrderId", "bench"),
                "transactTime": int(time.time() * 1000), "price": q.get("price", "0"),
                "origQty": q.get("quantity", "0"), "executedQty": "0.00000000",
                "cummulativeQuoteQty": "0.00000000", "status": "EXPIRED",
                "timeInForce": q.get("timeInForce", "IOC"), "type": q.get("type", "LIMIT"),
                "side": q.get("side", "BUY"), "workingTime": int(time.time() * 1000), "fills": [],
                "selfTradePreventionMode": "NONE",
            }
        )  # fmt: skip

    def exchange_info(self) -> dict[str, Any]:
        big = 1_000_000_000  # no contender should ever wait for rate budget here
        return {
            "timezone": "UTC",
            "serverTime": int(time.time() * 1000),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": big},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": big},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": big},
            ],
            "symbols": [_symbol_info(s) for s in SYMBOLS],
        }

    # the measurement ----------------------------------------------------------------------------

    async def run(self, symbol: str, ticks: int, gap_us: int, spin: bool = False) -> list[int]:
        """``ticks`` ticks to ``symbol``'s subscriber, one in flight: tick→order times (ns; misses
        as ``-1``). With ``spin`` the loop polls until the order is read: on one host an idle venue
        process must be woken by the client's write, which on this kind of VM (idle vCPUs halt at
        once) costs the writer ~10 µs more once the venue has gone to sleep after its tick — a cost
        a venue on another machine never puts on its client."""
        loop = asyncio.get_running_loop()
        book = self.books[symbol]
        out: list[int] = []
        for _ in range(ticks):
            ws = self.subscribers.get(symbol)
            if ws is None:
                raise ValueError(f"nobody subscribed to {symbol}")
            fut: asyncio.Future[int] = loop.create_future()
            self.waiting[symbol] = fut
            frame = book.step()
            t0 = time.monotonic_ns()
            ws.send(WSMsgType.TEXT, frame)
            poll = loop.create_task(_poll_until(fut)) if spin else None
            try:
                t1 = await asyncio.wait_for(fut, MISS_NS / 1e9)
                out.append(t1 - t0)
                self.stamps.append((t0, t1))
            except TimeoutError:
                out.append(-1)
                await self._late_answer(symbol)
            finally:
                if poll is not None:
                    poll.cancel()
            # The gap: the client reads its order's answer and settles before the next tick.
            end = time.monotonic_ns() + gap_us * 1000
            await asyncio.sleep(gap_us / 1e6)
            while time.monotonic_ns() < end:
                await asyncio.sleep(0)
        return out

    async def _late_answer(self, symbol: str) -> None:
        """After a miss, the missed order if it still comes (a client stalled past ``MISS_NS``):
        read before the next tick goes out, it is counted late, not taken for that tick's answer."""
        late: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting[symbol] = late
        try:
            await asyncio.wait_for(late, LATE_NS / 1e9)
            self.late += 1
        except TimeoutError:
            self.waiting.pop(symbol, None)

    async def blast(self, symbol: str, frames: int) -> dict[str, Any]:
        """``frames`` ticks to ``symbol``'s subscriber as fast as its connection takes them (made
        before the clock starts): a sustained-rate source, not a latency one."""
        book = self.books[symbol]
        ws = self.subscribers.get(symbol)
        if ws is None:
            raise ValueError(f"nobody subscribed to {symbol}")
        made = [book.step() for _ in range(frames)]
        t0 = time.monotonic_ns()
        for i, frame in enumerate(made):
            ws.send(WSMsgType.TEXT, frame)
            if i % 64 == 63:
                # Let the socket drain so the source does not just fill its own buffer.
                await asyncio.sleep(0)
        return {"sent": frames, "t0_ns": t0, "t1_ns": time.monotonic_ns()}


async def _poll_until(fut: asyncio.Future[int]) -> None:
    """Keeps the loop polling (a zero timeout, never sleeping) until ``fut`` is done."""
    while not fut.done():
        await asyncio.sleep(0)


def _symbol_info(s: str) -> dict[str, Any]:
    return {
        "symbol": s, "status": "TRADING", "baseAsset": s[:-4], "quoteAsset": "USDT",
        "baseAssetPrecision": 8, "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000",
             "tickSize": "0.01000000"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
             "stepSize": "0.00001000"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
    }  # fmt: skip


class _Stamping(HttpProtocol):
    """The simulator's HTTP/1.1 server, stamping an order the moment its bytes are read (before
    parsing and the handler's task: what the client controls ends at the kernel)."""

    def __init__(self, venue: Venue) -> None:
        super().__init__(venue.handle, venue.conns)
        self.venue = venue

    def data_received(self, data: bytes) -> None:
        if data.startswith(b"POST /api/v3/order?"):
            now = time.monotonic_ns()
            at = data.find(b"symbol=")
            if at >= 0:
                end = data.find(b"&", at)
                fut = self.venue.waiting.pop(data[at + 7 : end].decode(), None)
                if fut is not None and not fut.done():
                    fut.set_result(now)
        super().data_received(data)


class _Stream(WSListener):
    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.mine: list[str] = []

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
            return
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close()
            transport.disconnect()
            return
        msg = orjson.loads(frame.get_payload_as_bytes())
        if msg.get("method") == "SUBSCRIBE":
            for stream in msg.get("params", ()):
                book = self.venue.by_stream.get(stream)
                if book is not None:
                    self.venue.subscribers[book.symbol] = transport
                    self.mine.append(book.symbol)
            transport.send(WSMsgType.TEXT, orjson.dumps({"result": None, "id": msg.get("id")}))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        for s in self.mine:
            if self.venue.subscribers.get(s) is transport:
                del self.venue.subscribers[s]


async def main() -> None:
    venue = Venue()

    def listener(req: WSUpgradeRequest) -> WSListener:
        return _Stream(venue)

    ws = await ws_create_server(listener, "127.0.0.1", 0)
    rest = await asyncio.get_running_loop().create_server(lambda: _Stamping(venue), "127.0.0.1", 0)
    ws_port = ws.sockets[0].getsockname()[1]
    rest_port = rest.sockets[0].getsockname()[1]
    urls: dict[str, Any] = {
        "ws": {"stream": f"ws://127.0.0.1:{ws_port}/stream"},
        "rest": f"http://127.0.0.1:{rest_port}",
        "pid": os.getpid(),  # what `tickwire bench --pin` places on a core of its own
    }
    sys.stdout.write(json.dumps(urls) + "\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
