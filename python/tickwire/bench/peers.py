"""The clients ``tickwire bench`` measures tick→order for, each quoting its own symbol of the bench
venue (``bench/venue.py``): on every book diff, a signed IOC buy at the best bid written on a
kept-alive HTTP connection.

- ``floor``: picows answering every diff with one fixed order built beforehand — the transport only,
  what no client can beat;
- ``tickwire``: ``tickwire.connect`` + ``md.trade`` + an order template sent from ``on_book``;
- ``rule``: the same book and template, the order fired by a quote rule (``tmpl.quote``) inside the
  frame's Rust call, before ``on_book``;
- ``bare`` (a diagnostic): ``tickwire``'s book with the template's bytes written by hand, nothing
  tracked — what ``send``'s guarantees cost;
- ``best``: the best-effort Python stack — picows, orjson, the C ``order-book`` package, a pre-keyed
  stdlib hmac, the request as an f-string on a raw asyncio connection;
- ``pure``: websockets + json + sortedcontainers + ``hmac.new`` per order on asyncio streams;
- ``remote`` (``bench/tick_remote.py``, beside the gateway it needs): ``tickwire``'s strategy behind
  a gateway — ``tickwire.remote.connect`` + ``tickwire.remote.trade``, ``place_order`` fired from
  ``on_book``; the order is written by the ``tickwire gateway`` process the stage runs.

Each runs in a process of its own (``python -m tickwire.bench.peers KEY SYMBOL URLS``: its own loop,
GIL and garbage, as a bot would have), says ``ready`` on stdout once its book is live, and answers
``samples`` on stdin with the in-process times it stamped since the last ask: ``time.monotonic_ns()``
when its tick arrived (where its stack lets it see that) to its order written. The venue stamps the
server-side times. ``spin`` / ``rest`` on stdin start and stop a task that keeps its loop polling
(``tickwire bench --spin``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

KEY, SECRET = "bench-key", "bench-secret-0123456789"
QTY = "0.00100"  # lot 0.00001: 100 lots, ~43 USDT at the bench prices (over the 5 USDT minimum)
QTY_LOTS = 100


class Contender:
    key = ""
    name = ""
    needs: tuple[str, ...] = ()  # optional packages; absent → skipped with a note

    def __init__(self, symbol: str, urls: dict[str, Any]) -> None:
        self.symbol = symbol
        self.stream_url = str(urls["ws"]["stream"])
        self.rest = str(urls["rest"])
        self.inproc: list[int] = []  # tick arrived → order written (the send syscall returned)
        self.ready: list[int] = []  # tick arrived → order's bytes handed to the write (before the syscall)
        self.callback: list[int] = []  # tick arrived → the book updated and the strategy's code running
        # Ticks whose order has no in-process stamp (written later than the call that made it, when
        # the connection was not idle): left out of ``inproc`` and ``ready``, counted so the rows say so.
        self.left_out = 0

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    def subscribe(self) -> bytes:
        return orjson.dumps(
            {"method": "SUBSCRIBE", "params": [self.symbol.lower() + "@depth@100ms"], "id": 1}
        )

    def report(self) -> dict[str, Any]:
        """The in-process times stamped since the last report (then forgotten): ``written`` and
        ``callback`` lists (ns), and whatever else the contender stamps."""
        out = {
            "written": list(self.inproc),
            "ready": list(self.ready),
            "callback": list(self.callback),
            "left_out": self.left_out,
        }
        for xs in (self.inproc, self.ready, self.callback):
            xs.clear()
        self.left_out = 0
        return out

    def snapshot(self) -> dict[str, Any]:
        """The REST snapshot, fetched before the stream matters (not timed)."""
        with urllib.request.urlopen(f"{self.rest}/api/v3/depth?symbol={self.symbol}&limit=1000") as r:
            out: dict[str, Any] = json.loads(r.read())
            return out


class _Sink(asyncio.Protocol):
    """A kept-alive HTTP connection the peers write whole requests on; answers are read and dropped
    (one per order, nothing waits for them)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        # Written at once, as tickwire's order connections do: "order written" then means the same
        # thing (the send syscall made) for every contender, not "queued for the loop's next turn".
        transport.set_write_buffer_limits(high=0)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        pass


async def _sink(rest: str) -> asyncio.Transport:
    u = urlsplit(rest)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(_Sink, u.hostname or "127.0.0.1", u.port or 80)
    return transport


def _head(rest: str) -> str:
    return f" HTTP/1.1\r\nHost: {urlsplit(rest).netloc}\r\nX-MBX-APIKEY: {KEY}\r\n\r\n"


class _PicowsFeed(WSListener):
    def __init__(self, on_text: Any) -> None:
        self.on_text = on_text

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            self.on_text(frame)
        elif frame.msg_type == WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())


class _Picows(Contender):
    """A contender on picows: its ``on_text`` answers each frame on a kept-alive HTTP connection."""

    http: asyncio.Transport

    async def connect(self, on_text: Any) -> None:
        self.ws, _ = await ws_connect(lambda: _PicowsFeed(on_text), self.stream_url, enable_auto_pong=False)
        self.ws.send(WSMsgType.TEXT, self.subscribe())

    async def stop(self) -> None:
        self.ws.disconnect()
        self.http.close()


class Floor(_Picows):
    key, name = "floor", "floor: picows, fixed pre-built order"

    async def start(self) -> None:
        self.http = await _sink(self.rest)
        ts = int(time.time() * 1000)
        query = (
            f"symbol={self.symbol}&side=BUY&type=LIMIT&timeInForce=IOC&quantity={QTY}&price=43250.00"
            f"&newClientOrderId=floor&timestamp={ts}"
        )
        sig = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
        self.order = f"POST /api/v3/order?{query}&signature={sig}{_head(self.rest)}".encode()
        write, mono, inproc, ready = self.http.write, time.monotonic_ns, self.inproc, self.ready
        order = self.order

        def on_text(frame: WSFrame) -> None:
            t = mono()
            ready.append(mono() - t)
            write(order)
            inproc.append(mono() - t)

        await self.connect(on_text)


class Best(_Picows):
    key, name = "best", "best-effort: picows + orjson + C order-book + pre-keyed hmac"
    needs = ("order_book",)

    async def start(self) -> None:
        from order_book import OrderBook

        self.http = await _sink(self.rest)
        snap = self.snapshot()
        book = OrderBook()
        bids, asks = book.bids, book.asks
        for p, q in snap["bids"]:
            bids[float(p)] = float(q)
        for p, q in snap["asks"]:
            asks[float(p)] = float(q)
        last = [int(snap["lastUpdateId"])]
        keyed = hmac.new(SECRET.encode(), digestmod=hashlib.sha256)
        head, sym, write = _head(self.rest), self.symbol, self.http.write
        mono, inproc, callback, ready = time.monotonic_ns, self.inproc, self.callback, self.ready
        n = [0]

        def on_text(frame: WSFrame) -> None:
            t = mono()
            msg = orjson.loads(frame.get_payload_as_memoryview())
            d = msg.get("data")
            if d is None or d["u"] <= last[0]:
                return
            last[0] = d["u"]
            for p, q in d["b"]:
                fp = float(p)
                if float(q):
                    bids[fp] = float(q)
                elif fp in bids:
                    del bids[fp]
            for p, q in d["a"]:
                fp = float(p)
                if float(q):
                    asks[fp] = float(q)
                elif fp in asks:
                    del asks[fp]
            bid = bids.index(0)[0]
            callback.append(mono() - t)
            n[0] += 1
            query = (
                f"symbol={sym}&side=BUY&type=LIMIT&timeInForce=IOC&quantity={QTY}&price={bid:.2f}"
                f"&newClientOrderId=best{n[0]}&timestamp={int(time.time() * 1000)}"
            )
            h = keyed.copy()
            h.update(query.encode())
            data = f"POST /api/v3/order?{query}&signature={h.hexdigest()}{head}".encode()
            ready.append(mono() - t)
            write(data)
            inproc.append(mono() - t)

        await self.connect(on_text)


class Pure(Contender):
    key, name = "pure", "pure: websockets + json + sortedcontainers + hmac"
    needs = ("websockets", "sortedcontainers")

    async def start(self) -> None:
        import websockets
        from sortedcontainers import SortedDict

        u = urlsplit(self.rest)
        self.reader, self.writer = await asyncio.open_connection(u.hostname, u.port)
        self.writer.transport.set_write_buffer_limits(high=0)
        self.ws = await websockets.connect(self.stream_url, compression=None, max_size=None)
        await self.ws.send(self.subscribe().decode())
        snap = self.snapshot()
        bids: Any = SortedDict()
        asks: Any = SortedDict()
        for p, q in snap["bids"]:
            bids[float(p)] = float(q)
        for p, q in snap["asks"]:
            asks[float(p)] = float(q)
        self.tasks = [
            asyncio.create_task(self._run(bids, asks, int(snap["lastUpdateId"]))),
            asyncio.create_task(self._drain()),
        ]

    async def _run(self, bids: Any, asks: Any, last: int) -> None:
        head, n, mono = _head(self.rest), 0, time.monotonic_ns
        async for raw in self.ws:
            t = mono()
            d = json.loads(raw).get("data")
            if d is None or d["u"] <= last:
                continue
            last = d["u"]
            for side, levels in ((bids, d["b"]), (asks, d["a"])):
                for p, q in levels:
                    if float(q):
                        side[float(p)] = float(q)
                    else:
                        side.pop(float(p), None)
            bid = bids.peekitem(-1)[0]
            self.callback.append(mono() - t)
            n += 1
            query = (
                f"symbol={self.symbol}&side=BUY&type=LIMIT&timeInForce=IOC&quantity={QTY}&price={bid:.2f}"
                f"&newClientOrderId=pure{n}&timestamp={int(time.time() * 1000)}"
            )
            sig = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
            data = f"POST /api/v3/order?{query}&signature={sig}{head}".encode()
            self.ready.append(mono() - t)
            self.writer.write(data)
            self.inproc.append(mono() - t)

    async def _drain(self) -> None:
        while await self.reader.read(65536):
            pass

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await self.ws.close()
        self.writer.close()


class Tickwire(Contender):
    key, name = "tickwire", "tickwire: connect + order template from on_book"

    async def start(self) -> None:
        import tickwire
        from tickwire.venues import binance

        quote: list[Any] = []  # the strategy, once the template is built

        def on_book(book: Any) -> None:
            if quote:
                quote[0](book)

        eps = [{"ws": {"stream": self.stream_url}, "rest": self.rest}]
        self.md = tickwire.connect(
            "binance", [self.symbol], endpoints=eps, on_book=on_book, probe_interval=None, coalesce=False,
        )  # fmt: skip
        await self.md.__aenter__()
        self.tr = self.md.trade(
            credentials=binance.Signer(KEY, SECRET), transport="rest", private_stream=False
        )
        await self.tr.__aenter__()
        quote.append(await self.strategy(self.tr.template(self.symbol, "buy", tif="IOC")))

    async def strategy(self, t: Any) -> Any:
        """``on_book``'s work once the template ``t`` is built: an IOC buy at the book's best bid."""
        inproc, callback, ready, mono = self.inproc, self.callback, self.ready, time.monotonic_ns
        form = t.rest  # the one-call path's: its stamp before the write (``ready_ns``)

        def quote(book: Any) -> None:
            callback.append(mono() - book.recv_ns)
            t.send(book.best_bid_mantissa(t.price_scale), QTY_LOTS)
            if t.written_ns > book.recv_ns:
                inproc.append(t.written_ns - book.recv_ns)
                # Another path than the one call (no idle connection yet): its written stamp stands
                # in, which over-counts, never under.
                at = form.ready_ns if form.ready_ns > book.recv_ns else t.written_ns
                ready.append(at - book.recv_ns)
            else:
                # It had to wait: no idle connection (the previous order's answer not read yet when
                # a late loop found the tick first) or the rate budget. Written later, in the send's
                # task, with no stamp here: counted, as the server's time for it still is.
                self.left_out += 1

        return quote

    async def stop(self) -> None:
        await self.tr.__aexit__(None, None, None)
        await self.md.__aexit__(None, None, None)


class Bare(Tickwire):
    """A diagnostic, not a way to trade: the ``tickwire`` contender's book and template, its bytes
    written by hand — ``tmpl.rest.fill`` (one fixed client id and timestamp) and the transport's write,
    no rate budget, no client ids, no tracking, no task. Against ``tickwire`` it shows what ``send``'s
    guarantees cost, before the write (in process) and after it (the server-measured time: on one host
    the client's work after its write competes with the venue reading it)."""

    key, name = "bare", "diagnostic: the same book, tmpl.rest.fill + a raw write, nothing tracked"

    async def strategy(self, t: Any) -> Any:
        self.sink = sink = await _sink(self.rest)
        fill, write, ps = t.rest.fill, sink.write, t.price_scale
        ts = self.tr.signer.clock()
        inproc, callback, ready, mono = self.inproc, self.callback, self.ready, time.monotonic_ns

        def quote(book: Any) -> None:
            callback.append(mono() - book.recv_ns)
            data = fill(book.best_bid_mantissa(ps), QTY_LOTS, "bare", ts, "")
            ready.append(mono() - book.recv_ns)
            write(data)
            inproc.append(mono() - book.recv_ns)

        return quote

    async def stop(self) -> None:
        self.sink.close()
        await super().stop()


class Rule(Tickwire):
    """The ``tickwire`` contender's book and template, its order fired by a quote rule in the frame
    route (``tmpl.quote``: price read from the touch, filled, signed and written inside the frame's
    one Python→Rust call, before ``on_book``); the order then tracked and answered as ``send``'s."""

    key, name = "rule", "tickwire: quote rule (tmpl.quote) fired in the frame route, in Rust"

    async def strategy(self, t: Any) -> Any:
        self.quote = q = t.quote(self.md, QTY_LOTS, when="every")
        inproc, ready, form = self.inproc, self.ready, t.rest
        sent = [0]

        def quote(book: Any) -> None:  # on_book, after the rule: its stamps read back
            if q.sent > sent[0]:
                sent[0] = q.sent
                # Written for this tick, not caught up on an earlier one from the answer path.
                if t.written_ns > book.recv_ns:
                    ready.append(form.ready_ns - book.recv_ns)
                    inproc.append(t.written_ns - book.recv_ns)
                    return
            # Not fired in this frame's call (one order in flight: the answer path prices this
            # tick's book later): the venue still times it, the in-process rows cannot.
            self.left_out += 1

        return quote

    async def stop(self) -> None:
        self.quote.stop()
        await super().stop()


LOCAL: tuple[type[Contender], ...] = (Floor, Tickwire, Rule, Bare, Best, Pure)


async def _serve(kind: type[Contender], symbol: str, urls: dict[str, Any]) -> None:
    c = kind(symbol, urls)
    await c.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    spinner: asyncio.Task[None] | None = None
    try:
        while line := (await reader.readline()).strip():
            if line == b"samples":
                sys.stdout.write(json.dumps(c.report()) + "\n")
            elif line == b"spin" and spinner is None:
                spinner = asyncio.create_task(_spin())
                sys.stdout.write("ok\n")
            elif line == b"rest":
                if spinner is not None:
                    spinner.cancel()
                    spinner = None
                sys.stdout.write("ok\n")
            sys.stdout.flush()
    finally:
        if spinner is not None:
            spinner.cancel()
        await c.stop()


async def _spin() -> None:
    """The loop never sleeps while this runs: it polls with a zero timeout, so a tick is read by a
    running core with its caches hot (``tickwire bench --spin``: the same for every contender, only
    during its own rounds)."""
    while True:
        await asyncio.sleep(0)


def main(argv: list[str]) -> None:
    from tickwire.bench.tick_remote import Remote
    from tickwire.loop import run

    key, symbol, urls = argv
    kinds: tuple[type[Contender], ...] = (*LOCAL, Remote)
    [kind] = [c for c in kinds if c.key == key]
    run(_serve(kind, symbol, json.loads(urls)))


if __name__ == "__main__":
    main(sys.argv[1:])
